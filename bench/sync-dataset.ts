/**
 * The sync benchmark's directory contents, generated deterministically from a few numbers (no I/O here): the
 * same shape always gives the same users, entryUUIDs, groups and memberships, so the slapd data can be cached,
 * the app's rows can be pre-created to match the directory, and the expected results of a sync are known.
 */
import { mulberry32 } from './random.js';

/** Bump when the generated data changes, so cached directories made by older code are not reused. */
export const DATASET_VERSION = 1;

export const BASE_DN = 'dc=example,dc=com';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;
export const SERVICES_DN = `ou=services,${BASE_DN}`;

/** What a sync reads, the same for ldapsearch and ldapts (the library's user attributes, minus AD ones). */
export const USER_FILTER = '(objectClass=inetOrgPerson)';
export const USER_ATTRIBUTES = ['uid', 'mail', 'givenName', 'sn', 'entryUUID'];
export const GROUP_FILTER = '(objectClass=groupOfNames)';
export const GROUP_ATTRIBUTES = ['cn', 'member', 'entryUUID'];
/** Entries per page (OpenLDAP has no cap; AD's MaxPageSize is 1,000). */
export const PAGE_SIZE = 1000;

export interface DatasetShape {
  users: number;
  groups: number;
  /** Total (user, group) pairs over all groups. */
  memberships: number;
  /** Sizes of the few big groups, as shares of the users (each must be larger than any regular group). */
  bigGroupShares: number[];
  seed: number;
}

/**
 * 200 groups, three memberships per user on average, and three big groups holding 40 %, 25 % and 15 % of the
 * users (40,000 / 25,000 / 15,000 at 100,000 users); the other 197 groups share the rest, from about twice
 * the average down to a handful of members.
 */
export function defaultShape(users: number, seed = 20_240_601): DatasetShape {
  return { users, groups: 200, memberships: users * 3, bigGroupShares: [0.4, 0.25, 0.15], seed };
}

export interface DatasetGroup {
  cn: string;
  /** As the directory writes it; already in normalised form (lower case, no escapes). */
  dn: string;
  /** Indexes of the member users, all different. */
  members: Int32Array;
}

export interface Dataset {
  shape: DatasetShape;
  /** entryUUID of user i (lower-case text), written into the LDIF so it is known without reading it back. */
  uuids: string[];
  groups: DatasetGroup[];
  membershipCount: number;
  /** The groups of each user: groupsOfUser(i) without building 100,000 arrays. */
  userGroupOffsets: Int32Array;
  userGroupList: Int32Array;
}

const GIVEN_NAMES = ['Ada', 'Alan', 'Barbara', 'Claude', 'Dennis', 'Edsger', 'Frances', 'Grace', 'Hedy', 'Ivan'];
const SURNAMES = ['Lovelace', 'Turing', 'Liskov', 'Shannon', 'Ritchie', 'Dijkstra', 'Allen', 'Hopper', 'Lamarr'];

export function username(i: number): string {
  return `user${String(i).padStart(6, '0')}`;
}
export function userDn(name: string): string {
  return `uid=${name},${PEOPLE_DN}`;
}
export function givenName(i: number): string {
  return GIVEN_NAMES[i % GIVEN_NAMES.length];
}
export function surname(i: number): string {
  return `${SURNAMES[Math.floor(i / GIVEN_NAMES.length) % SURNAMES.length]} ${i}`;
}
export function mail(name: string): string {
  return `${name}@example.com`;
}
export function groupCn(g: number): string {
  return `group${String(g).padStart(3, '0')}`;
}

export function groupsOfUser(data: Dataset, i: number): Int32Array {
  return data.userGroupList.subarray(data.userGroupOffsets[i], data.userGroupOffsets[i + 1]);
}

export function generateDataset(shape: DatasetShape): Dataset {
  const { users: n, groups: groupCount, memberships } = shape;
  const sizes = groupSizes(shape);
  const random = mulberry32(shape.seed);

  const uuids = new Array<string>(n);
  for (let i = 0; i < n; i++) uuids[i] = uuidFrom(random);

  const groups: DatasetGroup[] = [];
  for (let g = 0; g < groupCount; g++) {
    // Members start + k·step (mod n), with step coprime to n: all different, spread over the whole tree.
    const start = Math.floor(random() * n);
    let step = 1 + Math.floor(random() * (n - 1));
    while (gcd(step, n) !== 1) step = (step % (n - 1)) + 1;
    const members = new Int32Array(sizes[g]);
    for (let k = 0; k < members.length; k++) members[k] = (start + k * step) % n;
    members.sort();
    groups.push({ cn: groupCn(g), dn: `cn=${groupCn(g)},${GROUPS_DN}`, members });
  }

  // Invert into per-user lists (CSR: offsets into one flat array).
  const counts = new Int32Array(n + 1);
  for (const group of groups) for (const u of group.members) counts[u + 1]++;
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const userGroupOffsets = counts.slice();
  const fill = counts.slice(0, n);
  const userGroupList = new Int32Array(memberships);
  groups.forEach((group, g) => {
    for (const u of group.members) userGroupList[fill[u]++] = g;
  });
  return { shape, uuids, groups, membershipCount: memberships, userGroupOffsets, userGroupList };
}

/** Big groups first, then the regular ones falling linearly; they add up to `memberships` exactly. */
export function groupSizes(shape: DatasetShape): number[] {
  const { users: n, groups: groupCount, memberships, bigGroupShares } = shape;
  const big = bigGroupShares.map((share) => Math.round(share * n));
  const regularCount = groupCount - big.length;
  const rest = memberships - big.reduce((a, b) => a + b, 0);
  if (regularCount < 1 || rest < regularCount)
    throw new Error(`dataset shape does not add up: ${JSON.stringify(shape)}`);
  // size_j ∝ (regularCount - j): sums to rest; the largest is about twice the average.
  const weightSum = (regularCount * (regularCount + 1)) / 2;
  const regular = Array.from({ length: regularCount }, (_, j) =>
    Math.max(1, Math.floor((rest * (regularCount - j)) / weightSum)),
  );
  regular[0] += rest - regular.reduce((a, b) => a + b, 0);
  const sizes = [...big, ...regular];
  if (Math.min(...big) <= regular[0]) throw new Error('the big groups must be larger than every regular group');
  if (Math.max(...sizes) > n) throw new Error('a group cannot have more members than there are users');
  return sizes;
}

// ---- the ~1 % of changes applied before the "changed" resync ----

export interface ChangeSet {
  /** Users renamed (new uid, so a new DN and username; same entryUUID) and given a new mail. */
  renames: number[];
  /** Users deleted from the directory (and taken out of their groups). */
  removals: number[];
  /** One membership moved each: the user leaves `from` and joins `to` (a group it was not in). */
  moves: Array<{ user: number; from: number; to: number }>;
}

export function renamedUsername(i: number): string {
  return `${username(i)}r`;
}

/** `fraction` of the users, split 40 % renames, 30 % removals, 30 % membership moves; all different users. */
export function planChanges(data: Dataset, fraction = 0.01): ChangeSet {
  const n = data.shape.users;
  const total = Math.max(3, Math.round(n * fraction));
  const random = mulberry32(data.shape.seed ^ 0x5eed);
  const picked = new Set<number>();
  const pick = (ok: (i: number) => boolean): number => {
    for (;;) {
      const i = Math.floor(random() * n);
      if (!picked.has(i) && ok(i)) {
        picked.add(i);
        return i;
      }
    }
  };
  const renameCount = Math.round(total * 0.4);
  const removalCount = Math.round(total * 0.3);
  const moveCount = total - renameCount - removalCount;
  const renames = Array.from({ length: renameCount }, () => pick(() => true));
  const removals = Array.from({ length: removalCount }, () => pick(() => true));
  const moves = Array.from({ length: moveCount }, () => {
    const user = pick((i) => groupsOfUser(data, i).length > 0);
    const own = groupsOfUser(data, user);
    const from = own[Math.floor(random() * own.length)];
    let to = Math.floor(random() * data.groups.length);
    while (own.includes(to)) to = (to + 1) % data.groups.length;
    return { user, from, to };
  });
  return { renames, removals, moves };
}

/**
 * The changes as LDIF for ldapmodify (run as the rootdn): the users' renames and deletes, then one modify
 * per touched group with every member value that changes (what refint would do, one modify per user and
 * group, in a background task: minutes at 100,000 users with 40,000-member groups). A group left without
 * members gets the base DN, as refint_nothing would (groupOfNames needs a member; it is not a user).
 */
export function changesLdif(data: Dataset, changes: ChangeSet): string {
  const parts: string[] = [];
  const edits = new Map<number, { add: string[]; remove: string[] }>();
  const edit = (g: number) => {
    let e = edits.get(g);
    if (!e) edits.set(g, (e = { add: [], remove: [] }));
    return e;
  };
  for (const i of changes.renames) {
    const newName = renamedUsername(i);
    parts.push(`dn: ${userDn(username(i))}\nchangetype: modrdn\nnewrdn: uid=${newName}\ndeleteoldrdn: 1\n`);
    parts.push(`dn: ${userDn(newName)}\nchangetype: modify\nreplace: mail\nmail: ${mail(newName)}\n-\n`);
    for (const g of groupsOfUser(data, i)) {
      edit(g).remove.push(userDn(username(i)));
      edit(g).add.push(userDn(newName));
    }
  }
  for (const i of changes.removals) {
    parts.push(`dn: ${userDn(username(i))}\nchangetype: delete\n`);
    for (const g of groupsOfUser(data, i)) edit(g).remove.push(userDn(username(i)));
  }
  for (const { user, from, to } of changes.moves) {
    edit(from).remove.push(userDn(username(user)));
    edit(to).add.push(userDn(username(user)));
  }
  for (const [g, { add, remove }] of [...edits].sort(([a], [b]) => a - b)) {
    const group = data.groups[g];
    const lines = [`dn: ${group.dn}`, 'changetype: modify'];
    if (group.members.length - remove.length + add.length === 0) add.push(BASE_DN);
    if (add.length) lines.push('add: member', ...add.map((dn) => `member: ${dn}`), '-');
    if (remove.length) lines.push('delete: member', ...remove.map((dn) => `member: ${dn}`), '-');
    parts.push(`${lines.join('\n')}\n`);
  }
  return parts.join('\n');
}

/** What the app's tables must hold after a complete sync (removed users deleted, the default policy). */
export interface ExpectedState {
  /** LDAP-managed users (non-null ldap_uuid). */
  users: number;
  /** LDAP-managed groups (non-null ldap_dn). */
  groups: number;
  /** user_groups rows of those groups. */
  memberships: number;
  /** Users whose username must now be the renamed one (spot-checked). */
  renamed: string[];
}

export function expectedState(data: Dataset, changes?: ChangeSet): ExpectedState {
  if (!changes)
    return { users: data.shape.users, groups: data.groups.length, memberships: data.membershipCount, renamed: [] };
  const lostMemberships = changes.removals.reduce((sum, i) => sum + groupsOfUser(data, i).length, 0);
  return {
    users: data.shape.users - changes.removals.length,
    groups: data.groups.length,
    memberships: data.membershipCount - lostMemberships,
    renamed: changes.renames.map(renamedUsername),
  };
}

// ---- small helpers ----

function uuidFrom(random: () => number): string {
  const hex = (): string =>
    Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  const h = hex() + hex() + hex() + hex();
  // Version 4, RFC 4122 variant: a well-formed UUID, as slapd's entryUUID syntax requires.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16], 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
