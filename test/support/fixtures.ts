/**
 * The people and groups both real directories (slapd and Samba AD) are seeded with.
 * Passwords satisfy AD's default complexity rules so one list serves both servers.
 * Tests that change an entry use a user of their own so suites never disturb each other.
 */
export interface FixtureUser {
  /** uid (OpenLDAP) and sAMAccountName (AD). */
  username: string;
  password: string;
  givenName: string;
  sn: string;
  mail: string;
  /** AD only: the account is created disabled. */
  disabled?: boolean;
}

export interface FixtureGroup {
  cn: string;
  /** Usernames of direct members. */
  members: string[];
  /** cns of groups that are direct members (nesting). */
  groupMembers?: string[];
}

export const USERS: FixtureUser[] = [
  { username: 'alice', password: 'Alice-pass1', givenName: 'Alice', sn: 'Archer', mail: 'alice@example.com' },
  { username: 'bob', password: 'Bob-pass1', givenName: 'Bob', sn: 'Baker', mail: 'bob@example.com' },
  {
    username: 'zoe',
    password: `Zoë-"P(a)s[s]{w}'1€`,
    givenName: 'Zoë',
    sn: 'Çelik-Ødegård',
    mail: 'zoe@example.com',
  },
  // A username with filter metacharacters: it must be able to log in, and nobody may use it as a wildcard.
  { username: 'o(brien)', password: 'Obrien-pass1', givenName: 'Owen', sn: "O'Brien", mail: 'owen@example.com' },
  { username: 'carol', password: 'Carol-pass1', givenName: 'Carol', sn: 'Clark', mail: 'carol@example.com' },
  { username: 'dave', password: 'Dave-pass1', givenName: 'Dave', sn: 'Dunn', mail: 'dave@example.com' },
  { username: 'eve', password: 'Eve-pass1', givenName: 'Eve', sn: 'Evans', mail: 'eve@example.com' },
  { username: 'frank', password: 'Frank-pass1', givenName: 'Frank', sn: 'Foster', mail: 'frank@example.com' },
  { username: 'grace', password: 'Grace-pass1', givenName: 'Grace', sn: 'Green', mail: 'grace@example.com' },
  { username: 'heidi', password: 'Heidi-pass1', givenName: 'Heidi', sn: 'Hill', mail: 'heidi@example.com' },
  {
    username: 'mallory',
    password: 'Mallory-pass1',
    givenName: 'Mallory',
    sn: 'Moss',
    mail: 'mallory@example.com',
    disabled: true,
  },
];

export const GROUPS: FixtureGroup[] = [
  { cn: 'developers', members: ['alice', 'bob', 'frank', 'grace'], groupMembers: ['platform'] },
  { cn: 'admins', members: ['alice'] },
  // engineering contains developers; dave is only a direct member of platform, which is nested in developers.
  { cn: 'platform', members: ['dave'] },
  { cn: 'engineering', members: ['carol'], groupMembers: ['developers'] },
  { cn: 'app-users', members: ['alice', 'bob', 'zoe', 'o(brien)', 'carol', 'frank', 'grace', 'heidi'] },
  { cn: 'nested-login', members: [], groupMembers: ['platform'] },
  // A cycle, which nested-group expansion must survive.
  { cn: 'cycle-a', members: ['heidi'], groupMembers: ['cycle-b'] },
  { cn: 'cycle-b', members: [], groupMembers: ['cycle-a'] },
];

/** Service account used for search-mode login and the full sync. */
export const SERVICE_ACCOUNT = { username: 'ldap-sync', password: 'Sync-pass1' };

export function fixtureUser(username: string): FixtureUser {
  const user = USERS.find((u) => u.username === username);
  if (!user) throw new Error(`no fixture user ${username}`);
  return user;
}

/**
 * Samba AD only: OU=Bulk holds this many users (disabled, no password: cheap to create) and one group with
 * all of them as members, for ranged membership reads past AD's 1,500-value range (the template caches it).
 */
export const AD_BULK = { ou: 'Bulk', group: 'bulk-2000', users: 2000, prefix: 'bulk-' };
