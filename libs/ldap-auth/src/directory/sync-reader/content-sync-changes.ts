import type { BulkReadConnection, BulkSearchOptions } from './bulk-read-connection.js';
import { type ContentSyncRefresh, ContentSyncRefreshRequiredError } from './content-sync.js';
import { SnapshotReader, type SnapshotReadOptions, userAttributes } from './snapshot-reader.js';
import { type DeltaStart, GROUP_FILTER, groupBases, type MethodRead } from './delta-common.js';
import type { ServerInfo } from '../server-info.js';
import { isWithin } from '../server-info.js';
import { userEntriesFilter } from '../active-directory.js';
import { AD_UUID_ATTRIBUTE } from '../../ldap-auth.constants.js';
import { tryNormalizeDn } from '../../model/dn.js';
import type { ContentSyncCursor, ContentSyncPosition } from '../../model/sync-cursor.js';

/**
 * What changed since `cursor`, by RFC 4533 content synchronisation (OpenLDAP's syncprov): the user entries
 * added or changed (complete), those deleted (delete phase) or those still there (present phase), and the
 * group entries that changed (by DN). No usable cursor: every user entry comes as changed, a full read.
 */
export async function readContentSyncChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: ContentSyncCursor | undefined,
  start: DeltaStart,
): Promise<MethodRead> {
  let { fullContent } = start;
  let cursor = stored;
  const users = new SnapshotReader(client, server, options);
  const userSearch: BulkSearchOptions = {
    scope: 'sub',
    filter: userEntriesFilter(options.objectClass, server),
    attributes: userAttributes(options, server),
    binaryAttributes: [AD_UUID_ATTRIBUTE],
  };
  // The group refresh goes out beside the user refresh, on the same connection: neither waits for the other.
  const groupRead = (from: ContentSyncCursor | undefined) => {
    const read = readGroupChanges(client, server, options, from);
    read.catch(() => undefined);
    return read;
  };
  let groupsRead = groupRead(cursor);
  let userRefresh: ContentSyncRefresh;
  try {
    userRefresh = await client.syncRefresh(options.searchBase, userSearch, cursor?.users.cookie);
  } catch (error) {
    if (!(error instanceof ContentSyncRefreshRequiredError) || !cursor) throw error;
    // The server no longer holds what happened since the cookie: everything again, from scratch.
    fullContent = 'the directory asked for a full refresh (the stored cookie is too old for it)';
    cursor = undefined;
    await groupsRead.catch(() => undefined);
    groupsRead = groupRead(undefined);
    userRefresh = await client.syncRefresh(options.searchBase, userSearch, undefined);
  }
  const changedUsers = userRefresh.changed.map(({ entry }) => users.userOf(entry));
  const groups = await groupsRead;
  return {
    changes: {
      changedUsers,
      // Without a cookie every entry came as changed: nothing else is there.
      presentUsers: cursor ? userRefresh.present : (userRefresh.present ?? new Set()),
      deletedUsers: userRefresh.deleted,
      changedGroups: groups.changed,
    },
    cursor: {
      method: 'content-sync',
      fingerprint: start.fingerprint,
      users: { cookie: userRefresh.cookie ?? cursor?.users.cookie ?? '' },
      groups: groups.positions,
      groupDns: groups.groupDns,
    },
    fullContent,
    entriesRead: userRefresh.changed.length + groups.entriesRead,
  };
}

/** The group entries that changed under each base holding a listed group (or the login group). */
async function readGroupChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  cursor: ContentSyncCursor | undefined,
): Promise<{
  changed: Set<string>;
  positions: Record<string, ContentSyncPosition>;
  groupDns: Record<string, string>;
  entriesRead: number;
}> {
  const changed = new Set<string>();
  const positions: Record<string, ContentSyncPosition> = {};
  const known = cursor?.groupDns ?? {};
  const groupDns: Record<string, string> = {};
  let entriesRead = 0;
  for (const base of groupBases(options, server)) {
    const refresh = await client.syncRefresh(
      base,
      { scope: 'sub', filter: GROUP_FILTER, attributes: ['1.1'] },
      cursor?.groups[base]?.cookie,
    );
    entriesRead += refresh.changed.length;
    positions[base] = { cookie: refresh.cookie ?? cursor?.groups[base]?.cookie ?? '' };
    const seen = new Set<string>();
    for (const { uuid, entry } of refresh.changed) {
      const dn = tryNormalizeDn(entry.dn) ?? entry.dn;
      seen.add(uuid);
      changed.add(dn);
      // A renamed group: what listed it under its old DN changed too.
      if (known[uuid] !== undefined && known[uuid] !== dn) changed.add(known[uuid]);
      groupDns[uuid] = dn;
    }
    for (const [uuid, dn] of Object.entries(known)) {
      if (!isWithin(dn, base) || seen.has(uuid)) continue;
      const gone = refresh.present ? !refresh.present.has(uuid) : refresh.deleted.has(uuid);
      if (gone) changed.add(dn);
      else groupDns[uuid] = dn;
    }
  }
  return { changed, positions, groupDns, entriesRead };
}
