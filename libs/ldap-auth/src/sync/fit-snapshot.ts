import type { DirectorySnapshot, SnapshotGroup, SnapshotUser } from '../model/directory-snapshot.js';
import {
  emailFault,
  fitGroupName,
  fitPersonName,
  groupDnFault,
  userDnFault,
  usernameFault,
} from '../persistence/column-fit.js';
import { DN_MAX_LENGTH, EMAIL_MAX_LENGTH, GROUP_DN_MAX_BYTES, USERNAME_MAX_LENGTH } from '../entities/column-limits.js';

/**
 * The snapshot as the columns can hold it, by the rules logins use (persistence/column-fit.ts), before it is
 * planned: a username or DN that does not fit is left out (the row keeps its own), an email that does not fit
 * becomes null, names are cut, a listed group whose DN does not fit is not mirrored (its row, if any, is left
 * alone rather than the run failing as a whole). Pure: the reader's snapshot is not changed; users and groups
 * that fit are shared with it. Returns the notes for the report.
 */
export function fitSnapshotToColumns(snapshot: DirectorySnapshot): { snapshot: DirectorySnapshot; notes: string[] } {
  const notes: string[] = [];
  // Only users that change are copied (a few, if any, of 100,000s), found again by ordinal.
  let fittedByOrdinal: Map<number, SnapshotUser> | undefined;
  for (const user of snapshot.users.values()) {
    const fitted = fitUser(user, notes);
    if (fitted !== user) (fittedByOrdinal ??= new Map()).set(user.ordinal, fitted);
  }
  let users = snapshot.users;
  if (fittedByOrdinal) {
    users = new Map();
    for (const [uuid, user] of snapshot.users) users.set(uuid, fittedByOrdinal.get(user.ordinal) ?? user);
  }
  const groups = new Map<string, SnapshotGroup>();
  for (const [dn, group] of snapshot.groups) {
    if (groupDnFault(dn)) {
      notes.push(
        `group ${JSON.stringify(dn.slice(0, 60))}…: DN longer than groups.ldap_dn holds (${DN_MAX_LENGTH} characters, ${GROUP_DN_MAX_BYTES} bytes) or with a NUL character, not mirrored`,
      );
      continue;
    }
    const name = fitGroupName(group.name).value;
    const members = fittedByOrdinal ? group.members.map((m) => fittedByOrdinal.get(m.ordinal) ?? m) : group.members;
    groups.set(dn, name === group.name && members === group.members ? group : { ...group, name, members });
  }
  return { snapshot: { ...snapshot, users, groups }, notes };
}

/** The user as its row can hold it: the same object when everything fits. Notes in the order of the checks. */
function fitUser(user: SnapshotUser, notes: string[]): SnapshotUser {
  let { dn, username, usernames, email } = user;
  const dnFault = dn === null ? undefined : userDnFault(dn);
  if (dn !== null && dnFault === 'nul') {
    notes.push(`${JSON.stringify(dn.slice(0, 60))}…: DN contains a NUL character, not written`);
    dn = null;
  }
  const nameFault = username === null ? undefined : usernameFault(username);
  if (nameFault === 'nul') {
    notes.push(`${dn ?? user.uuid}: username contains a NUL character, not written`);
    username = null;
  }
  const mailFault = email === null ? undefined : emailFault(email);
  if (mailFault === 'nul') {
    notes.push(`${dn ?? user.uuid}: email contains a NUL character, stored as null`);
    email = null;
  }
  if (nameFault === 'too-long') {
    notes.push(`${dn}: username longer than ${USERNAME_MAX_LENGTH} characters, not written`);
    username = null;
  } else if (nameFault === 'key-too-long') {
    notes.push(`${dn ?? user.uuid}: username folds to a key longer than users.username_key holds, not written`);
    username = null;
  }
  if (usernames) {
    // A multi-valued username: the values that could be stored (see storedUsername), the first as `username`.
    const usable = usernames.filter((value) => usernameFault(value) === undefined);
    if (usable.length !== usernames.length) usernames = usable.length > 1 ? usable : undefined;
    username = usable[0] ?? null;
  }
  if (dn !== null && dnFault === 'too-long') {
    notes.push(`${dn.slice(0, 60)}…: DN longer than ${DN_MAX_LENGTH} characters, not written`);
    dn = null;
  }
  if (email !== null && mailFault === 'too-long') {
    notes.push(`${dn ?? user.uuid}: email longer than ${EMAIL_MAX_LENGTH} characters, stored as null`);
    email = null;
  }
  const firstName = user.firstName === null ? null : fitPersonName(user.firstName).value;
  const lastName = user.lastName === null ? null : fitPersonName(user.lastName).value;
  const same =
    dn === user.dn &&
    username === user.username &&
    usernames === user.usernames &&
    email === user.email &&
    firstName === user.firstName &&
    lastName === user.lastName;
  return same ? user : { ...user, dn, username, usernames, email, firstName, lastName };
}
