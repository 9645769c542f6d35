import { createHash } from 'node:crypto';
import { NoSuchObjectError } from 'ldapts';
import type { BulkReadConnection, BulkSearchOptions } from './bulk-read-connection.js';
import { type ContentSyncRefresh, ContentSyncRefreshRequiredError } from './content-sync.js';
import { SnapshotReader, type SnapshotReadOptions, userAttributes } from './snapshot-reader.js';
import type { ServerInfo } from '../server-info.js';
import { isWithin } from '../server-info.js';
import { userEntriesFilter } from '../active-directory.js';
import { AD_UUID_ATTRIBUTE } from '../../ldap-auth.constants.js';
import { tryNormalizeDn } from '../../model/dn.js';
import type { ContentSyncPosition, SyncCursor } from '../../model/sync-cursor.js';
import type { DirectoryChanges } from '../../model/directory-changes.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';

/** Entries a group may be: by class, or by holding member values of any kind (nested groups too). */
export const GROUP_FILTER =
  '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group)' +
  '(member=*)(uniqueMember=*)(memberUid=*))';

export interface DeltaRead {
  changes: DirectoryChanges;
  /** The cursor that covers what was read (store it with the changes it covers, never before). */
  cursor: SyncCursor;
  /** Why the users were read whole (no usable cursor), if they were. */
  fullContent?: string;
  /**
   * POSIX primary groups count and a listed group (or the login group) is a posixGroup with a gidNumber: a
   * changed user's gidNumber may change its membership.
   */
  primaryGroupsMatter: boolean;
  entriesRead: number;
}

/**
 * What changed in the directory since `cursor`, by RFC 4533 content synchronisation (OpenLDAP's syncprov):
 * the user entries added or changed (complete), those deleted (delete phase) or those still there (present
 * phase), and the group entries that changed (by DN; the caller reads again the listed ones it needs). No
 * usable cursor: every user entry comes as changed, which is a full read.
 */
export async function readDirectoryChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: SyncCursor | undefined,
): Promise<DeltaRead> {
  if (!server.contentSync) {
    throw new DeltaUnavailableError(
      'the directory offers no content synchronisation (RFC 4533; on OpenLDAP, the syncprov overlay)',
    );
  }
  const fingerprint = readFingerprint(options, server);
  let fullContent: string | undefined;
  let cursor = stored;
  if (!cursor) fullContent = 'no stored delta state yet';
  else if (cursor.fingerprint !== fingerprint) {
    fullContent = 'the configuration of what is read changed since the stored delta state';
    cursor = undefined;
  }
  const users = new SnapshotReader(client, server, options);
  const userSearch: BulkSearchOptions = {
    scope: 'sub',
    filter: userEntriesFilter(options.objectClass, server),
    attributes: userAttributes(options, server),
    binaryAttributes: [AD_UUID_ATTRIBUTE],
  };
  let userRefresh: ContentSyncRefresh;
  try {
    userRefresh = await client.syncRefresh(options.searchBase, userSearch, cursor?.users.cookie);
  } catch (error) {
    if (!(error instanceof ContentSyncRefreshRequiredError) || !cursor) throw error;
    // The server no longer holds what happened since the cookie: everything again, from scratch.
    fullContent = 'the directory asked for a full refresh (the stored cookie is too old for it)';
    cursor = undefined;
    userRefresh = await client.syncRefresh(options.searchBase, userSearch, undefined);
  }
  const changedUsers = userRefresh.changed.map(({ entry }) => users.userOf(entry));

  const groups = await readGroupChanges(client, server, options, cursor);
  const primaryGroupsMatter =
    !!options.primaryGroups && changedUsers.length > 0 && (await anyHasGid(client, groupBasesOf(options)));
  const next: SyncCursor = {
    method: 'content-sync',
    fingerprint,
    users: { cookie: userRefresh.cookie ?? cursor?.users.cookie ?? '' },
    groups: groups.positions,
    groupDns: groups.groupDns,
  };
  return {
    changes: {
      changedUsers,
      // Without a cookie every entry came as changed: nothing else is there.
      presentUsers: cursor ? userRefresh.present : (userRefresh.present ?? new Set()),
      deletedUsers: userRefresh.deleted,
      changedGroups: groups.changed,
    },
    cursor: next,
    fullContent,
    primaryGroupsMatter,
    entriesRead: userRefresh.changed.length + groups.entriesRead,
  };
}

/** The group entries that changed under each base holding a listed group (or the login group). */
async function readGroupChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  cursor: SyncCursor | undefined,
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

/** Whether any of these group entries has a gidNumber (one base read each, at most a few in flight). */
async function anyHasGid(client: BulkReadConnection, dns: readonly string[]): Promise<boolean> {
  for (let i = 0; i < dns.length; i += 8) {
    const reads = dns.slice(i, i + 8).map((dn) =>
      client
        .search(dn, { scope: 'base', filter: '(gidNumber=*)', attributes: ['1.1'] })
        .then((page) => page.searchEntries.length > 0)
        .catch((error: unknown) => {
          // A listed group that is gone is the group read's business, not this one's.
          if (error instanceof NoSuchObjectError) return false;
          throw error;
        }),
    );
    if ((await Promise.all(reads)).some(Boolean)) return true;
  }
  return false;
}

function groupBasesOf(options: SnapshotReadOptions): string[] {
  return options.loginGroup ? [options.loginGroup, ...options.groupDns] : [...options.groupDns];
}

/** The naming contexts holding the listed groups and the login group (nested groups may be anywhere in them). */
export function groupBases(options: SnapshotReadOptions, server: ServerInfo): string[] {
  const dns = groupBasesOf(options);
  const bases = new Set<string>();
  for (const dn of dns) {
    const context = server.namingContexts.filter((nc) => isWithin(dn, nc)).sort((a, b) => b.length - a.length)[0];
    bases.add(context ?? dn);
  }
  return [...bases].sort();
}

/** What the reads ask for: a cursor taken for other reads is not one for these. */
function readFingerprint(options: SnapshotReadOptions, server: ServerInfo): string {
  const shape = {
    base: tryNormalizeDn(options.searchBase) ?? options.searchBase,
    filter: userEntriesFilter(options.objectClass, server).toString(),
    attributes: userAttributes(options, server),
    groups: [...options.groupDns].sort(),
    loginGroup: options.loginGroup ?? null,
    nested: options.nestedGroups,
    member: options.memberAttribute,
    primary: !!options.primaryGroups,
    bases: groupBases(options, server),
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}
