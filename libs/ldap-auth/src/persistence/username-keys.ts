import { USERNAME_MAX_LENGTH } from '../entities/column-limits.js';
import { usernameKey, usernameKeyFits } from '../model/username-key.js';
import type { SqlDialect } from './sql-dialect.js';

/** Runs one statement in the caller's transaction (a manager's or a query runner's `query`). */
export type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

/** Names tried for a row moving out of the way before giving up (each one checked to be free). */
const MAX_DISPLACED_ATTEMPTS = 100;

/**
 * Gives every row without a `username_key` (one an app inserted, or renamed, without it) its key, in id order.
 * A row whose key another row already holds is two rows of "the same username", which only a writer other
 * than the library can have made: it keeps no key (login and sync still count it, computing its key from its
 * name) and is reported, never renamed. Run it in the transaction that then relies on the keys.
 */
export async function fillUsernameKeys(query: Query, sql: SqlDialect): Promise<{ filled: number; notes: string[] }> {
  const rows = (await query('SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id')) as Array<{
    id: number | string;
    username: string;
  }>;
  const notes: string[] = [];
  if (rows.length === 0) return { filled: 0, notes };
  const keyed = rows.map((r) => ({ id: Number(r.id), username: r.username, key: usernameKey(r.username) }));
  const holderOf = new Map<string, number>();
  const wanted = [...new Set(keyed.filter((r) => usernameKeyFits(r.key)).map((r) => r.key))];
  const per = sql.rowsPerStatement(1);
  for (let i = 0; i < wanted.length; i += per) {
    const chunk = wanted.slice(i, i + per);
    const held = (await query(
      `SELECT id, username_key FROM users WHERE username_key IN (${chunk.map((_, j) => sql.param(j + 1)).join(', ')})`,
      chunk,
    )) as Array<{ id: number | string; username_key: string }>;
    for (const row of held) holderOf.set(row.username_key, Number(row.id));
  }
  const assign: Array<[number, string]> = [];
  for (const row of keyed) {
    const holder = holderOf.get(row.key);
    if (!usernameKeyFits(row.key)) {
      notes.push(`user ${row.id}: the key of its username is longer than users.username_key holds; left empty`);
    } else if (holder !== undefined) {
      notes.push(
        `user ${row.id} (${JSON.stringify(row.username)}) has the same username as user ${holder}; its username_key is left empty`,
      );
    } else {
      holderOf.set(row.key, row.id);
      assign.push([row.id, row.key]);
    }
  }
  // MySQL's updated_at follows any change of the row unless the statement sets it: this is no change of the user.
  const keepUpdatedAt = sql.kind === 'mysql' ? ', updated_at = updated_at' : '';
  const rowsPer = Math.floor(sql.rowsPerStatement(3));
  for (let i = 0; i < assign.length; i += rowsPer) {
    const chunk = assign.slice(i, i + rowsPer);
    const cases = chunk.map((_, j) => `WHEN ${sql.param(2 * j + 1)} THEN ${sql.param(2 * j + 2)}`).join(' ');
    const ids = chunk.map((_, j) => sql.param(2 * chunk.length + j + 1)).join(', ');
    await query(
      `UPDATE users SET username_key = CASE id ${cases} END${keepUpdatedAt} WHERE id IN (${ids}) AND username_key IS NULL`,
      [...chunk.flat(), ...chunk.map(([id]) => id)],
    );
  }
  return { filled: assign.length, notes };
}

/**
 * The name a row gives up `username` for (a removed entry's row, handing its name to the entry that has it
 * now): `<name>~<id>`, or `<name>~<id>~2`, `~3`… when some row holds that name already (checked here, in the
 * caller's transaction, by name and by key). Cut to fit the column. Returns the name and its key.
 */
export async function displacedUsername(
  query: Query,
  sql: SqlDialect,
  username: string,
  id: number,
): Promise<{ username: string; key: string }> {
  for (let attempt = 1; attempt <= MAX_DISPLACED_ATTEMPTS; attempt++) {
    const suffix = attempt === 1 ? `~${id}` : `~${id}~${attempt}`;
    let name = Array.from(username)
      .slice(0, USERNAME_MAX_LENGTH - suffix.length)
      .join('');
    // A name whose key is too long for its column moves to the bare suffix (`~<id>`): still its own.
    if (!usernameKeyFits(usernameKey(name + suffix))) name = '';
    const candidate = name + suffix;
    const key = usernameKey(candidate);
    const [row] = (await query(
      `SELECT COUNT(*) AS n FROM users WHERE username = ${sql.param(1)} OR username_key = ${sql.param(2)}`,
      [candidate, key],
    )) as Array<{ n: number | string }>;
    if (Number(row.n) === 0) return { username: candidate, key };
  }
  throw new Error(`no free name found for user ${id} to give up ${JSON.stringify(username)}`);
}
