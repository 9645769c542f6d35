import type { EntityManager } from 'typeorm';
import type { SqlDialect } from './sql-dialect.js';

/**
 * Set-based statements for 100,000s of rows, on every dialect: lists of ids and multi-row values in chunks the
 * database accepts (SqlDialect.rowsPerStatement), or as one array parameter on PostgreSQL.
 */

/** A parenthesised list of ids for `IN`, with its parameters. */
export interface IdList {
  sql: string;
  params: unknown[];
}

/** Runs `run` over the ids: PostgreSQL gets them all at once, the others in chunks of placeholders. */
export async function forIds(sql: SqlDialect, ids: number[], run: (list: IdList) => Promise<unknown>): Promise<void> {
  // PostgreSQL: one array parameter, whatever the count (one round trip, no statement of 30,000 placeholders).
  if (sql.kind === 'postgres') {
    await run({ sql: '(SELECT unnest($1::integer[]))', params: [ids] });
    return;
  }
  const per = sql.rowsPerStatement(1);
  for (let i = 0; i < ids.length; i += per) {
    const chunk = ids.slice(i, i + per);
    await run({ sql: `(${chunk.map((_, j) => sql.param(j + 1)).join(', ')})`, params: chunk });
  }
}

/** Runs `run` over rows of `width` values in chunks, each with its row count and flattened parameters. */
export async function forRows(
  sql: SqlDialect,
  rows: unknown[][],
  width: number,
  run: (count: number, params: unknown[]) => Promise<unknown>,
): Promise<void> {
  const per = sql.rowsPerStatement(width);
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    await run(chunk.length, chunk.flat());
  }
}

/** Inserts the rows, leaving out those a unique key already holds. */
export async function insertRows(
  manager: EntityManager,
  sql: SqlDialect,
  table: string,
  columns: Array<[name: string, postgresType: string]>,
  rows: unknown[][],
): Promise<void> {
  if (rows.length === 0) return;
  const names = columns.map(([name]) => name);
  if (sql.kind === 'postgres') {
    // One statement: each column an array parameter, unnested into rows.
    const arrays = columns.map((_, c) => rows.map((row) => row[c]));
    const unnest = columns.map(([, type], c) => `$${c + 1}::${type}[]`).join(', ');
    await manager.query(
      `INSERT INTO ${sql.id(table)} (${names.join(', ')}) SELECT * FROM unnest(${unnest}) ON CONFLICT DO NOTHING`,
      arrays,
    );
    return;
  }
  await forRows(sql, rows, columns.length, (count, params) =>
    manager.query(sql.insertUnlessExists(table, names, sql.valuesList(count, columns.length)), params),
  );
}
