import type { EntityManager } from 'typeorm';
import { LdapSyncCursorEntity } from '../../entities/ldap-sync-cursor.entity.js';
import { SYNC_CURSOR_NAME, type SyncCursor } from '../../model/sync-cursor.js';

/** The stored cursor's text, if any (parsed by model/sync-cursor.ts, which says what it thinks of it). */
export async function readCursorText(manager: EntityManager): Promise<string | undefined> {
  const row = await manager.getRepository(LdapSyncCursorEntity).findOneBy({ name: SYNC_CURSOR_NAME });
  return row?.cursor;
}

/** Replaces the cursor, in the caller's transaction: the one that writes the changes the cursor covers. */
export async function writeCursor(manager: EntityManager, cursor: SyncCursor): Promise<void> {
  const cursors = manager.getRepository(LdapSyncCursorEntity);
  await cursors.delete({ name: SYNC_CURSOR_NAME });
  await cursors.insert({ name: SYNC_CURSOR_NAME, cursor: JSON.stringify(cursor), updatedAt: new Date() });
}

/** Forgets the cursor: the next delta reads everything (after a full sync that found the tables off). */
export async function clearCursor(manager: EntityManager): Promise<void> {
  await manager.getRepository(LdapSyncCursorEntity).delete({ name: SYNC_CURSOR_NAME });
}
