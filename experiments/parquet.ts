// Parquet beside the JSON lines, written by DuckDB (in-process, @duckdb/node-api): the
// columnar form pandas, polars and DuckDB read fastest. Each column's type is given, so a
// column that is null in every row of a run still has its type.
import { DuckDBInstance } from '@duckdb/node-api';

const VIEW_COLUMNS = {
  point: 'INTEGER',
  seed: 'BIGINT',
  server: 'VARCHAR',
  seq: 'BIGINT',
  at: 'BIGINT',
  kind: 'VARCHAR',
  method: 'VARCHAR',
  path: 'VARCHAR',
  query: 'VARCHAR',
  authorization: 'VARCHAR',
  body: 'VARCHAR',
  table: 'VARCHAR',
  op: 'VARCHAR',
  key: 'VARCHAR',
  value: 'VARCHAR',
  from_server: 'VARCHAR',
  to_server: 'VARCHAR',
  bytes: 'BIGINT',
};

const TRUTH_COLUMNS = {
  point: 'INTEGER',
  seed: 'BIGINT',
  fact: 'VARCHAR',
  user_id: 'VARCHAR',
  server: 'VARCHAR',
  alias: 'VARCHAR',
  responder: 'VARCHAR',
  by: 'VARCHAR',
  repeat: 'BOOLEAN',
  group_id: 'VARCHAR',
  recipient: 'VARCHAR',
  at: 'BIGINT',
  error: 'VARCHAR',
};

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

const columns = (spec: Record<string, string>) =>
  `{${Object.entries(spec)
    .map(([name, type]) => `${quote(name)}: ${quote(type)}`)
    .join(', ')}}`;

/** Converts `views.jsonl` and `truth.jsonl` of a run directory into `.parquet` files. */
export async function writeParquet(dir: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    for (const [name, spec] of [
      ['views', VIEW_COLUMNS],
      ['truth', TRUTH_COLUMNS],
    ] as const) {
      const from = quote(`${dir}/${name}.jsonl`);
      const to = quote(`${dir}/${name}.parquet`);
      await connection.run(
        `COPY (SELECT * FROM read_json(${from}, format = 'newline_delimited', columns = ${columns(spec)})) TO ${to} (FORMAT parquet)`,
      );
    }
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}
