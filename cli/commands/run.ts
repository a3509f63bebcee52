// `fedconn run`: runs the conformance checks. Until the suites exist it says so
// plainly and lists what is planned; it never reports a rule it did not check.
import { activeRules } from '../../suites/catalog/index.ts';
import { ruleStatus } from '../../suites/catalog/present.ts';
import { CHECKS } from '../../suites/registry.ts';
import type { Io } from '../io.ts';
import { summarise } from './rules.ts';

export function runCommand(io: Io): number {
  const rules = activeRules();
  const planned = rules.filter((r) => ruleStatus(r) === 'planned').length;
  io.out(
    [
      'fedconn run: target sim (embedded reference federation)',
      `Catalog: ${summarise(rules)}`,
      `Conformance checks available: ${CHECKS.length}.`,
      CHECKS.length === 0
        ? `Nothing was checked: the reference simulator and the conformance suites are not built yet, so all ${planned} rules are planned and unchecked. No verdict is reported. See \`fedconn rules\` for the catalog.`
        : '',
      '',
    ]
      .filter((line, i, all) => line !== '' || i === all.length - 1)
      .join('\n'),
  );
  return 0;
}
