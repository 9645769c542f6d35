import type { BulkReadConnection, BulkSearchOptions } from './bulk-read-connection.js';
import { SyncRequestControl } from './content-sync.js';
import { GROUP_FILTER, groupBases } from './delta-common.js';
import { refuseRefreshResult } from './result-errors.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import { watchAdChanges } from './ad-change-watch.js';
import type { ServerInfo } from '../server-info.js';
import { userEntriesFilter } from '../active-directory.js';
import type { SyncCursor } from '../../model/sync-cursor.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';

/**
 * Keeps the directory's change stream open and calls `onChange` as changes are written: RFC 4533
 * refreshAndPersist where the server offers content synchronisation, AD's change notifications on AD
 * (ad-change-watch.ts). What changed is read by a delta (the same path, the same safety): this is only its
 * trigger. Settles when any of the searches ends or the connection fails (the caller reconnects); throws
 * DeltaUnavailableError when the server offers no stream (or refuses it to this account).
 */
export async function watchDirectoryChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: SyncCursor | undefined,
  onChange: () => void,
): Promise<void> {
  if (server.contentSync) return watchContentSync(client, server, options, stored, onChange);
  if (server.activeDirectory && server.changeNotifications) return watchAdChanges(client, server, options, onChange);
  throw new DeltaUnavailableError(
    'the directory offers neither content synchronisation nor AD change notifications: nothing to watch',
  );
}

/**
 * refreshAndPersist searches on the user entries and on the group entries the delta reads, from the stored
 * cursor's cookies (so only what changed since is sent first); every message is a change.
 */
async function watchContentSync(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: SyncCursor | undefined,
  onChange: () => void,
): Promise<void> {
  // Only a content-sync cursor holds cookies (a server with content sync has no other kind once a delta ran).
  const cookies = stored?.method === 'content-sync' ? stored : undefined;
  // Entry names only: the delta reads the entries.
  const watches = [
    refreshAndPersist(
      client,
      options.searchBase,
      { scope: 'sub', filter: userEntriesFilter(options.objectClass, server), attributes: ['1.1'] },
      cookies?.users.cookie,
      onChange,
    ),
    ...groupBases(options, server).map((base) =>
      refreshAndPersist(
        client,
        base,
        { scope: 'sub', filter: GROUP_FILTER, attributes: ['1.1'] },
        cookies?.groups[base]?.cookie,
        onChange,
      ),
    ),
  ];
  await Promise.race(watches);
}

/**
 * RFC 4533 refreshAndPersist: the server first sends what changed since `cookie`, then keeps the search open
 * and sends each change as it is written; `onMessage` is called for every message of it.
 */
function refreshAndPersist(
  client: BulkReadConnection,
  baseDN: string,
  options: BulkSearchOptions,
  cookie: string | undefined,
  onMessage: () => void,
): Promise<void> {
  const controls = [new SyncRequestControl(cookie || undefined, 'refreshAndPersist')];
  return client.persistentSearch(
    baseDN,
    { ...options, controls },
    () => onMessage(),
    (result, messageId) => refuseRefreshResult(messageId, result, !!cookie),
  );
}
