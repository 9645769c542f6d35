import type { SnapshotUser } from './directory-snapshot.js';

/** What one delta read of the directory found. */
export interface DirectoryChanges {
  /** User entries added or changed since the cursor (all of them with no cursor), complete. */
  changedUsers: SnapshotUser[];
  /** Present phase: the unchanged user entries still there (anything else not in changedUsers is gone). */
  presentUsers?: ReadonlySet<string>;
  /**
   * Active Directory, with presentUsers: those of the present entries whose account is disabled (a disabled
   * account is still there; the rows cannot tell one from an entry gone).
   */
  disabledUsers?: ReadonlySet<string>;
  /** Delete phase: the user entries deleted since the cursor. */
  deletedUsers: ReadonlySet<string>;
  /** Normalised DNs of group entries added, changed, renamed (old and new DN) or deleted since the cursor. */
  changedGroups: ReadonlySet<string>;
}
