import type { SnapshotReadOptions } from './snapshot-reader.js';
import type { ServerInfo } from '../server-info.js';
import { isWithin } from '../server-info.js';
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

/** The naming contexts holding the listed groups and the login group (nested groups may be anywhere in them). */
export function groupBases(options: SnapshotReadOptions, server: ServerInfo): string[] {
  const bases = new Set<string>();
  for (const dn of groupBasesOf(options)) {
    const context = server.namingContexts.filter((nc) => isWithin(dn, nc)).sort((a, b) => b.length - a.length)[0];
    bases.add(context ?? dn);
  }
  return [...bases].sort();
}
