import type { BulkReadConnection } from './bulk-read-connection.js';
import { GROUP_FILTER, groupBases } from './delta-common.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import type { ServerInfo } from '../server-info.js';
import { userEntriesFilter } from '../active-directory.js';
import type { SyncCursor } from '../../model/sync-cursor.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';

/**
 * Keeps RFC 4533 refreshAndPersist searches open on the user entries and on the group entries the delta reads
 * (from the stored cursor's cookies, so only what changed since is sent first), and calls `onChange` for every
 * message: a change was written. What changed is read by a delta (the same path, the same safety): this is
 * only its trigger. Settles when any of the searches ends or the connection fails (the caller reconnects).
 */
export async function watchDirectoryChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: SyncCursor | undefined,
  onChange: () => void,
): Promise<void> {
  if (!server.contentSync) {
    throw new DeltaUnavailableError('the directory offers no content synchronisation: nothing to watch');
  }
  // Only a content-sync cursor holds cookies (a server with content sync has no other kind once a delta ran).
  const cookies = stored?.method === 'content-sync' ? stored : undefined;
  // Entry names only: the delta reads the entries.
  const watches = [
    client.watchChanges(
      options.searchBase,
      { scope: 'sub', filter: userEntriesFilter(options.objectClass, server), attributes: ['1.1'] },
      cookies?.users.cookie,
      onChange,
    ),
    ...groupBases(options, server).map((base) =>
      client.watchChanges(
        base,
        { scope: 'sub', filter: GROUP_FILTER, attributes: ['1.1'] },
        cookies?.groups[base]?.cookie,
        onChange,
      ),
    ),
  ];
  await Promise.race(watches);
}
