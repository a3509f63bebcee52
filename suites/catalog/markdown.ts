// Renders the rule tables of docs/spec.md from the catalog. The prose around
// them is written by hand; the blocks between the markers are generated, and a
// test fails when the file and the catalog differ.
import { FAMILY_INFO, type FamilyInfo, type Rule } from './index.ts';
import { formatProfiles, formatSource, ruleStatus } from './present.ts';

const begin = (family: string) => `<!-- BEGIN GENERATED RULES ${family} -->`;
const end = (family: string) => `<!-- END GENERATED RULES ${family} -->`;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function statusCell(rule: Rule): string {
  switch (ruleStatus(rule)) {
    case 'checked':
      return 'checked';
    case 'planned':
      return '**planned, unchecked**';
    case 'retired':
      return `retired: ${rule.retired ?? ''}`;
  }
}

export function renderFamily(family: FamilyInfo): string {
  const rows = family.rules.map((r) =>
    [
      `**${r.id}**`,
      r.level,
      r.roles.join(', '),
      formatProfiles(r.profiles),
      r.statement,
      r.sources.map(formatSource).join('; '),
      r.roomVersions === undefined
        ? r.checkedBy
        : `${r.checkedBy} Checked under room version ${r.roomVersions.join(', ')}.`,
      statusCell(r),
    ]
      .map(cell)
      .join(' | '),
  );
  const notes = family.rules
    .filter((r) => r.note !== undefined)
    .map((r) => `- ${r.id}: ${r.note ?? ''}`);
  // prettier-ignore keeps the formatter from realigning generated tables.
  return [
    begin(family.id),
    '<!-- prettier-ignore-start -->',
    '',
    '| ID | Level | Roles | Profiles | Statement | Source | How it is checked | Status |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    ...(notes.length > 0 ? ['', 'Divergences and notes:', '', ...notes] : []),
    '',
    '<!-- prettier-ignore-end -->',
    end(family.id),
  ].join('\n');
}

export class SpecSyncError extends Error {}

/** Returns the spec text with every generated block replaced from the catalog. */
export function syncSpec(text: string, families: readonly FamilyInfo[] = FAMILY_INFO): string {
  let out = text;
  for (const family of families) {
    const start = out.indexOf(begin(family.id));
    const stop = out.indexOf(end(family.id));
    if (start < 0 || stop < start) {
      throw new SpecSyncError(
        `docs/spec.md has no block for family ${family.id}: add the markers "${begin(family.id)}" and "${end(family.id)}" where its table belongs`,
      );
    }
    out = out.slice(0, start) + renderFamily(family) + out.slice(stop + end(family.id).length);
  }
  const stray = [...out.matchAll(/<!-- BEGIN GENERATED RULES (\S+) -->/g)]
    .map((m) => m[1])
    .filter((id) => !families.some((f) => f.id === id));
  if (stray.length > 0) {
    throw new SpecSyncError(`docs/spec.md has blocks for unknown families: ${stray.join(', ')}`);
  }
  return out;
}
