import type { SnapshotUser } from './directory-snapshot.js';
import { usernameKey } from './username-key.js';

/**
 * Which app users that predate LDAP (no `ldap_uuid`) may be linked to which directory entry: pure, from one
 * read of the directory and one of the `users` table. Nothing ambiguous is ever proposed: every doubt is a
 * conflict, listed for the operator, and the row is left as it is.
 */

/** What a local row and an entry must share to be linked. */
export type LinkBy = 'username' | 'email';

/** An app user row, as the planner needs it. */
export interface LinkAppUser {
  id: number;
  username: string;
  email: string | null;
  /** Null for a local row (the only ones linked). */
  ldapUuid: string | null;
}

/** A link to make: the row keeps its id, name and memberships, and gets the entry's uuid and DN. */
export interface ProposedLink {
  userId: number;
  username: string;
  email: string | null;
  /** The entry's stable id (entryUUID / objectGUID), lower-case. */
  ldapUuid: string;
  dn: string;
  /** The entry's username (the next login or sync stores it, when it differs from the row's). */
  entryUsername: string | null;
}

/**
 * Why a row is not linked. `no-entry`: no entry has its username/email (or it has no email);
 * `ambiguous-entry`: several entries have it; `ambiguous-user`: several local rows match the one entry;
 * `entry-linked`: the entry already belongs to another row; `case-differs`: an entry has the same username
 * but in another case (renaming is the operator's call); `username-taken`: another row holds the entry's
 * username, so the linked user's logins would be refused; `entry-unusable`: the entry's DN or username
 * cannot be stored; `entry-disabled`: AD disabled the account (the next sync would deactivate the linked
 * user); `not-written`: the write failed (a real run only).
 */
export type LinkConflictKind =
  | 'no-entry'
  | 'ambiguous-entry'
  | 'ambiguous-user'
  | 'entry-linked'
  | 'case-differs'
  | 'username-taken'
  | 'entry-unusable'
  | 'entry-disabled'
  | 'not-written';

export interface LinkConflict {
  kind: LinkConflictKind;
  userId: number;
  username: string;
  email: string | null;
  /** Says it in words, for the log and the terminal. */
  reason: string;
  /** The entries concerned (none for `no-entry`). */
  entries: Array<{ uuid: string; dn: string | null; username: string | null }>;
}

export interface LinkPlan {
  links: ProposedLink[];
  conflicts: LinkConflict[];
}

/**
 * Emails are the same when equal after folding ASCII letters' case (the domain and, in practice, every mailbox
 * are case-insensitive); other characters must match exactly.
 */
export function emailKey(email: string): string {
  return email.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The plan for every local row of `users` (in id order) against the directory's entries. */
export function planUserLinks(entries: Iterable<SnapshotUser>, users: readonly LinkAppUser[], by: LinkBy): LinkPlan {
  const entriesByKey = new Map<string, SnapshotUser[]>();
  for (const entry of entries) {
    for (const key of new Set(keysOfEntry(entry, by))) {
      const list = entriesByKey.get(key);
      if (list) list.push(entry);
      else entriesByKey.set(key, [entry]);
    }
  }
  const rowByUuid = new Map<string, number>();
  const rowByName = new Map<string, number>();
  for (const user of users) {
    if (user.ldapUuid !== null) rowByUuid.set(user.ldapUuid.toLowerCase(), user.id);
    rowByName.set(usernameKey(user.username), user.id);
  }

  const local = users.filter((u) => u.ldapUuid === null).sort((a, b) => a.id - b.id);
  const conflicts: LinkConflict[] = [];
  const candidates: Array<{ user: LinkAppUser; entry: SnapshotUser }> = [];
  for (const user of local) {
    const conflict = (kind: LinkConflictKind, reason: string, found: SnapshotUser[] = []) =>
      conflicts.push({
        kind,
        userId: user.id,
        username: user.username,
        email: user.email,
        reason,
        entries: found.map(entryRef),
      });
    const value = by === 'username' ? user.username : user.email;
    if (value === null) {
      conflict('no-entry', 'the user has no email');
      continue;
    }
    const found = entriesByKey.get(by === 'username' ? usernameKey(value) : emailKey(value)) ?? [];
    if (found.length === 0) {
      conflict('no-entry', `no directory entry has the ${by} ${JSON.stringify(value)}`);
      continue;
    }
    if (found.length > 1) {
      conflict('ambiguous-entry', `${found.length} directory entries have the ${by} ${JSON.stringify(value)}`, found);
      continue;
    }
    const entry = found[0];
    if (by === 'username' && !valuesOf(entry).includes(user.username)) {
      conflict(
        'case-differs',
        `the directory entry's username ${JSON.stringify(entry.username)} differs from ${JSON.stringify(user.username)} in case (or width) only; rename the user to link it`,
        found,
      );
      continue;
    }
    const holder = rowByUuid.get(entry.uuid);
    if (holder !== undefined) {
      conflict(
        'entry-linked',
        `the directory entry ${entry.dn ?? entry.uuid} is already linked to user ${holder}`,
        found,
      );
      continue;
    }
    if (entry.dn === null || entry.username === null) {
      conflict('entry-unusable', `the directory entry's DN or username cannot be stored (see the notes)`, found);
      continue;
    }
    if (entry.disabled) {
      conflict('entry-disabled', `the directory entry ${entry.dn} is a disabled account`, found);
      continue;
    }
    const nameHolder = rowByName.get(usernameKey(entry.username));
    if (nameHolder !== undefined && nameHolder !== user.id) {
      conflict(
        'username-taken',
        `the directory entry's username ${JSON.stringify(entry.username)} belongs to user ${nameHolder}: the linked user's logins would be refused`,
        found,
      );
      continue;
    }
    candidates.push({ user, entry });
  }

  // One entry, one row: an entry several rows match (the same email twice) is linked to none of them.
  const rowsPerEntry = new Map<string, number>();
  for (const { entry } of candidates) rowsPerEntry.set(entry.uuid, (rowsPerEntry.get(entry.uuid) ?? 0) + 1);
  const links: ProposedLink[] = [];
  for (const { user, entry } of candidates) {
    const rows = rowsPerEntry.get(entry.uuid) ?? 0;
    if (rows > 1) {
      conflicts.push({
        kind: 'ambiguous-user',
        userId: user.id,
        username: user.username,
        email: user.email,
        reason: `${rows} app users match the directory entry ${entry.dn ?? entry.uuid} by ${by}`,
        entries: [entryRef(entry)],
      });
      continue;
    }
    links.push({
      userId: user.id,
      username: user.username,
      email: user.email,
      ldapUuid: entry.uuid,
      dn: entry.dn ?? '',
      entryUsername: entry.username,
    });
  }
  conflicts.sort((a, b) => a.userId - b.userId);
  return { links, conflicts };
}

function valuesOf(entry: SnapshotUser): string[] {
  return entry.usernames ?? (entry.username === null ? [] : [entry.username]);
}

function keysOfEntry(entry: SnapshotUser, by: LinkBy): string[] {
  if (by === 'username') return valuesOf(entry).map(usernameKey);
  return entry.email === null ? [] : [emailKey(entry.email)];
}

function entryRef(entry: SnapshotUser): LinkConflict['entries'][number] {
  return { uuid: entry.uuid, dn: entry.dn, username: entry.username };
}
