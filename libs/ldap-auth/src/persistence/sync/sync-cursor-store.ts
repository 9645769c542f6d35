import type { EntityManager } from 'typeorm';
import { LdapSyncCursorEntity } from '../../entities/ldap-sync-cursor.entity.js';
import { SYNC_CURSOR_NAME, type SyncCursor } from '../../model/sync-cursor.js';

/** The stored cursor's text, if any (parsed by model/sync-cursor.ts, which says what it thinks of it). */
export async function readCursorText(manager: EntityManager): Promise<string | undefined> {
  const row = await manager.getRepository(LdapSyncCursorEntity).findOneBy({ name: SYNC_CURSOR_NAME });
  return row?.cursor;
}

/** MySQL's TEXT: 65,535 bytes. */
const MYSQL_TEXT_BYTES = 65_535;

/**
 * Replaces the cursor, in the caller's transaction: the one that writes the changes the cursor covers. On MySQL
 * a cursor over 64 KB (thousands of group entries) is kept without its group positions: the next delta then
 * takes every group as changed and reads the listed ones again, slower but exact.
 */
export async function writeCursor(manager: EntityManager, cursor: SyncCursor, mysql: boolean): Promise<void> {
  const cursors = manager.getRepository(LdapSyncCursorEntity);
  let text = JSON.stringify(cursor);
  if (mysql && Buffer.byteLength(text) > MYSQL_TEXT_BYTES)
    text = JSON.stringify({ ...cursor, groups: {}, groupDns: {} });
  await cursors.delete({ name: SYNC_CURSOR_NAME });
  await cursors.insert({ name: SYNC_CURSOR_NAME, cursor: text, updatedAt: new Date() });
}

/** Forgets the cursor: the next delta reads everything (after a full sync that found the tables off). */
export async function clearCursor(manager: EntityManager): Promise<void> {
  await manager.getRepository(LdapSyncCursorEntity).delete({ name: SYNC_CURSOR_NAME });
}
