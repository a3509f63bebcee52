// SQL on a server's SQLite database, for drivers of servers whose only way in is
// their tables (sydent's tokens, ToM's hashes and peppers). Run through Debian's
// Python (its sqlite3 module binds parameters properly), so fedconn needs no native
// addon; statements of one call run in one transaction.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Statement {
  readonly sql: string;
  readonly params?: readonly (string | number | null)[];
}

const SCRIPT = `
import sys, json, sqlite3
db = sqlite3.connect(sys.argv[1], timeout=10)
rows = []
try:
    for s in json.load(sys.stdin):
        rows = [list(r) for r in db.execute(s["sql"], s.get("params", [])).fetchall()]
    db.commit()
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
    sys.exit(0)
print(json.dumps({"rows": rows}))
`;

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs `statements` in one transaction; resolves with the rows of the last one. */
export function runSql(
  database: string,
  statements: readonly Statement[],
  timeoutMs = 15_000,
): Promise<unknown[][]> {
  if (!existsSync(database)) return Promise.reject(new Error(`no database at ${database}`));
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      ['-c', SCRIPT, database],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(
            new Error(`${PYTHON} sqlite3: ${error.message.split('\n')[0] ?? ''} ${stderr}`.trim()),
          );
          return;
        }
        try {
          const answer = JSON.parse(stdout) as { rows?: unknown[][]; error?: string };
          if (answer.error !== undefined) reject(new Error(`${database}: ${answer.error}`));
          else resolve(answer.rows ?? []);
        } catch {
          reject(
            new Error(
              `${PYTHON} sqlite3 printed no answer: ${stdout.slice(0, 200)} ${stderr.slice(0, 200)}`,
            ),
          );
        }
      },
    );
    child.stdin?.end(JSON.stringify(statements));
  });
}
