/**
 * The directory's contents as rows of the app's tables (spec.md, "Database"): what a complete sync writes.
 * Used by the database floors and to pre-create the app's users before the library's sync runs. Ids are
 * given explicitly (user i is id i + 1, group g is id g + 1), so memberships need no look-ups.
 */
import { givenName, groupsOfUser, mail, surname, userDn, username, type Dataset } from './sync-dataset.js';

export const ORGANISATION_ID = 1;

export interface UserRow {
  id: number;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  isActive: boolean;
  ldapDn: string;
  ldapUuid: string;
}

export function userRow(data: Dataset, i: number): UserRow {
  const name = username(i);
  return {
    id: i + 1,
    username: name,
    email: mail(name),
    firstName: givenName(i),
    lastName: surname(i),
    isActive: true,
    ldapDn: userDn(name),
    ldapUuid: data.uuids[i],
  };
}

export interface GroupRow {
  id: number;
  organisationId: number;
  name: string;
  /** Normalised (the generated DNs already are). */
  ldapDn: string;
}

export function groupRows(data: Dataset): GroupRow[] {
  return data.groups.map((g, index) => ({ id: index + 1, organisationId: ORGANISATION_ID, name: g.cn, ldapDn: g.dn }));
}

/** Every (user_id, group_id) pair, user by user. */
export function* membershipPairs(data: Dataset, userLimit = data.shape.users): Generator<[number, number]> {
  for (let i = 0; i < userLimit; i++) for (const g of groupsOfUser(data, i)) yield [i + 1, g + 1];
}

export function rowCounts(data: Dataset): { users: number; groups: number; memberships: number; total: number } {
  const users = data.shape.users;
  const groups = data.groups.length;
  const memberships = data.membershipCount;
  return { users, groups, memberships, total: users + groups + memberships };
}

// ---- COPY text format: tab-separated, \N for null. Generated values hold no tab, newline or backslash. ----

export const USER_COLUMNS = ['id', 'username', 'email', 'first_name', 'last_name', 'is_active', 'ldap_dn', 'ldap_uuid'];
export const GROUP_COLUMNS = ['id', 'organisation_id', 'name', 'ldap_dn'];
export const MEMBERSHIP_COLUMNS = ['user_id', 'group_id'];

const CHUNK_ROWS = 5000;

/** The users as COPY text, in chunks of 5,000 rows. `extra` appends columns (e.g. last_login_at). */
export function usersCopyText(data: Dataset, extra: (i: number) => string[] = () => []): Buffer[] {
  const chunks: Buffer[] = [];
  for (let from = 0; from < data.shape.users; from += CHUNK_ROWS) {
    let text = '';
    for (let i = from; i < Math.min(data.shape.users, from + CHUNK_ROWS); i++) {
      const r = userRow(data, i);
      const fields = [r.id, r.username, r.email, r.firstName, r.lastName, 't', r.ldapDn, r.ldapUuid, ...extra(i)];
      text += fields.join('\t') + '\n';
    }
    chunks.push(Buffer.from(text));
  }
  return chunks;
}

export function groupsCopyText(data: Dataset): Buffer[] {
  return [
    Buffer.from(
      groupRows(data)
        .map((g) => `${g.id}\t${g.organisationId}\t${g.name}\t${g.ldapDn}\n`)
        .join(''),
    ),
  ];
}

export function membershipsCopyText(data: Dataset): Buffer[] {
  const chunks: Buffer[] = [];
  let text = '';
  let rows = 0;
  for (const [u, g] of membershipPairs(data)) {
    text += `${u}\t${g}\n`;
    if (++rows % (CHUNK_ROWS * 4) === 0) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  if (text) chunks.push(Buffer.from(text));
  return chunks;
}
