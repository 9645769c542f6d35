import { createHash } from 'node:crypto';
import { NoSuchObjectError } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import { type SnapshotReadOptions, userAttributes } from './snapshot-reader.js';
import { type DeltaStart, groupBases, groupBasesOf, type MethodRead } from './delta-common.js';
import { readContentSyncChanges } from './content-sync-changes.js';
import { readUsnChanges } from './ad-changes.js';
import { readTimestampChanges } from './timestamp-changes.js';
import type { ServerInfo } from '../server-info.js';
import { userEntriesFilter } from '../active-directory.js';
import { tryNormalizeDn } from '../../model/dn.js';
import type { SyncCursor, SyncCursorMethod } from '../../model/sync-cursor.js';

export interface DeltaRead extends MethodRead {
  /**
   * POSIX primary groups count and a listed group (or the login group) is a posixGroup with a gidNumber: a
   * changed user's gidNumber may change its membership.
   */
  primaryGroupsMatter: boolean;
  /** The server is Active Directory: a disabled account is there, and a row the sync deactivated may be one. */
  activeDirectory: boolean;
}

/** How changes are read from this server: content sync where it is offered, USNs on AD, timestamps elsewhere. */
export function deltaMethodOf(server: ServerInfo): SyncCursorMethod {
  if (server.contentSync) return 'content-sync';
  return server.activeDirectory ? 'usn' : 'timestamp';
}

/**
 * What changed in the directory since `stored`: the user entries added or changed (complete), those deleted
 * or those still there, and the group entries that changed (by DN; the caller reads again the listed ones it
 * needs). No usable cursor: every user entry comes as changed, which is a full read (`fullContent` says why).
 */
export async function readDirectoryChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: SyncCursor | undefined,
): Promise<DeltaRead> {
  const method = deltaMethodOf(server);
  const start: DeltaStart = { fingerprint: readFingerprint(options, server) };
  let cursor = stored;
  if (!cursor) start.fullContent = 'no stored delta state yet';
  else if (cursor.method !== method) {
    start.fullContent = `the stored delta state was read by ${cursor.method}, and this directory is read by ${method}`;
    cursor = undefined;
  } else if (cursor.fingerprint !== start.fingerprint) {
    start.fullContent = 'the configuration of what is read changed since the stored delta state';
    cursor = undefined;
  }
  // A cursor left here was read by `method`.
  let read: MethodRead;
  if (method === 'content-sync') {
    read = await readContentSyncChanges(client, server, options, ifMethod(cursor, 'content-sync'), start);
  } else if (method === 'usn') {
    read = await readUsnChanges(client, server, options, ifMethod(cursor, 'usn'), start);
  } else {
    read = await readTimestampChanges(client, server, options, ifMethod(cursor, 'timestamp'), start);
  }
  const primaryGroupsMatter =
    !!options.primaryGroups && read.changes.changedUsers.length > 0 && (await anyHasGid(client, groupBasesOf(options)));
  return { ...read, primaryGroupsMatter, activeDirectory: server.activeDirectory };
}

function ifMethod<M extends SyncCursorMethod>(
  cursor: SyncCursor | undefined,
  method: M,
): Extract<SyncCursor, { method: M }> | undefined {
  return cursor?.method === method ? (cursor as Extract<SyncCursor, { method: M }>) : undefined;
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
