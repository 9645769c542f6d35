import type { SnapshotReadOptions } from './snapshot-reader.js';
import type { ServerInfo } from '../server-info.js';
import { isWithin } from '../server-info.js';
import { parentDn, tryNormalizeDn } from '../../model/dn.js';
import type { SyncCursor } from '../../model/sync-cursor.js';
import type { DirectoryChanges } from '../../model/directory-changes.js';

/** Entries a group may be: by class, or by holding member values of any kind (nested groups too). */
export const GROUP_FILTER =
  '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=group)' +
  '(member=*)(uniqueMember=*)(memberUid=*))';

/** What one way of reading changes (content sync, USN, timestamps) found, before the common checks. */
export interface MethodRead {
  changes: DirectoryChanges;
  /** The cursor that covers what was read (store it with the changes it covers, never before). */
  cursor: SyncCursor;
  /** Why the users were read whole (no usable cursor), if they were. */
  fullContent?: string;
  entriesRead: number;
}

/** Where a method starts: the fingerprint of the reads, and why there is no usable cursor (if there is none). */
export interface DeltaStart {
  fingerprint: string;
  fullContent?: string;
}

export function groupBasesOf(options: SnapshotReadOptions): string[] {
  return options.loginGroup ? [options.loginGroup, ...options.groupDns] : [...options.groupDns];
}

/**
 * More containers of listed groups than this, and a delta looks in their naming contexts instead: one search
 * each (the change watch keeps one open each, and AD allows five on a connection, the user base one of them).
 */
export const MAX_GROUP_CONTAINERS = 4;

/**
 * Where the group reads of a delta look. With nested groups, the naming contexts holding the listed groups and
 * the login group (a nested group may be anywhere in them). Without, only those groups matter: the containers
 * holding them, none inside another (a naming context of 100,000 users is scanned whole by the group filter's
 * unindexed `member=*`; a container of groups is not), unless there are more than MAX_GROUP_CONTAINERS.
 */
export function groupBases(options: SnapshotReadOptions, server: ServerInfo): string[] {
  const contexts = new Set<string>();
  // Per naming context its containers (a naming context inside another is a partition of its own on AD).
  const containers = new Map<string, Set<string>>();
  for (const dn of groupBasesOf(options)) {
    const context = server.namingContexts.filter((nc) => isWithin(dn, nc)).sort((a, b) => b.length - a.length)[0];
    const within = context ?? dn;
    contexts.add(within);
    const parent = context === undefined ? undefined : tryNormalizeDn(parentDn(dn));
    const container = parent !== undefined && isWithin(parent, within) ? parent : within;
    containers.set(within, (containers.get(within) ?? new Set()).add(container));
  }
  const narrow = [...containers.values()].flatMap((bases) =>
    [...bases].filter((base) => ![...bases].some((other) => other !== base && isWithin(base, other))),
  );
  return (options.nestedGroups || narrow.length > MAX_GROUP_CONTAINERS ? [...contexts] : narrow).sort();
}
