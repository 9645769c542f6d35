/**
 * Changes to the real directories, made as their administrator over LDAP: used to seed them and by tests that
 * change the directory mid-test. Every helper opens its own connection, binds, does its work and unbinds, so
 * nothing leaks between tests. Works against either server; on Samba over LDAPS (simple binds need TLS there).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { Attribute, Change, Client } from 'ldapts';
import { GROUPS, USERS, type FixtureUser } from './fixtures.js';
import type { SambaInfo } from './samba.js';
import type { SlapdHandle, SlapdInfo } from './slapd.js';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export type DirectoryInfo = SlapdInfo | SambaInfo;

/** AD groupType: global scope (0x2) | security (0x80000000). */
const AD_GLOBAL_SECURITY_GROUP = String(0x2 - 0x80000000);
/** AD userAccountControl: NORMAL_ACCOUNT (0x200), plus ACCOUNTDISABLE (0x2) when disabled. */
const AD_NORMAL_ACCOUNT = 0x200;
const AD_ACCOUNT_DISABLE = 0x2;

/** Escapes an attribute value for use in a DN (RFC 4514 section 2.4). */
export function escapeDnValue(value: string): string {
  const chars = Array.from(value);
  return chars
    .map((c, i) => {
      if (c === '\0') return '\\00';
      if ('\\"+,;<>='.includes(c)) return `\\${c}`;
      if ((i === 0 && (c === ' ' || c === '#')) || (i === chars.length - 1 && c === ' ')) return `\\${c}`;
      return c;
    })
    .join('');
}

export function userDn(info: DirectoryInfo, username: string): string {
  return info.kind === 'slapd'
    ? `uid=${escapeDnValue(username)},${info.peopleDn}`
    : `CN=${escapeDnValue(username)},${info.usersDn}`;
}

export function groupDn(info: DirectoryInfo, cn: string): string {
  return info.kind === 'slapd'
    ? `cn=${escapeDnValue(cn)},${info.groupsDn}`
    : `CN=${escapeDnValue(cn)},${info.groupsDn}`;
}

/** A client bound as the directory's administrator. The caller unbinds it. */
export async function adminClient(info: DirectoryInfo): Promise<Client> {
  const client =
    info.kind === 'slapd'
      ? new Client({ url: info.url, timeout: 10_000, connectTimeout: 5_000 })
      : new Client({
          url: info.url,
          timeout: 10_000,
          connectTimeout: 5_000,
          // Samba's certificate names DC1.example.test (no SAN), and we connect to 127.0.0.1.
          tlsOptions: { ca: readFileSync(info.caFile), servername: info.servername },
        });
  try {
    await client.bind(info.adminDn, info.adminPassword);
  } catch (err) {
    await client.unbind().catch(() => undefined);
    throw err;
  }
  return client;
}

async function withAdmin<T>(info: DirectoryInfo, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await adminClient(info);
  try {
    return await fn(client);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** userPassword as slapd stores it when it hashes itself: {SSHA} = base64(sha1(password + salt) + salt). */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(Buffer.from(password, 'utf8')).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** AD takes a password as unicodePwd: the password in double quotes, UTF-16LE. */
export function adPassword(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** Creates a user like the fixture ones (on AD, disabled when user.disabled). */
export async function createUser(info: DirectoryInfo, user: FixtureUser): Promise<void> {
  const common = { givenName: user.givenName, sn: user.sn, mail: user.mail };
  await withAdmin(info, async (client) => {
    if (info.kind === 'slapd') {
      await client.add(userDn(info, user.username), {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: user.username,
        cn: `${user.givenName} ${user.sn}`,
        ...common,
        userPassword: sshaPassword(user.password),
      });
      return;
    }
    const uac = AD_NORMAL_ACCOUNT | (user.disabled ? AD_ACCOUNT_DISABLE : 0);
    await client.add(userDn(info, user.username), [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [user.username] }),
      new Attribute({ type: 'userPrincipalName', values: [`${user.username}@${info.realm}`] }),
      new Attribute({ type: 'displayName', values: [`${user.givenName} ${user.sn}`] }),
      ...Object.entries(common).map(([type, value]) => new Attribute({ type, values: [value] })),
      new Attribute({ type: 'unicodePwd', values: [adPassword(user.password)] }),
      new Attribute({ type: 'userAccountControl', values: [String(uac)] }),
    ]);
  });
}

export async function deleteUser(info: DirectoryInfo, username: string): Promise<void> {
  await withAdmin(info, (client) => client.del(userDn(info, username)));
}

/** Replaces the given attributes (only those passed). */
export async function setAttributes(
  info: DirectoryInfo,
  username: string,
  attrs: { mail?: string; sn?: string; givenName?: string },
): Promise<void> {
  const changes = Object.entries(attrs)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(
      ([type, value]) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) }),
    );
  if (changes.length === 0) return;
  await withAdmin(info, (client) => client.modify(userDn(info, username), changes));
}

/** AD only: sets or clears ACCOUNTDISABLE. */
export async function setAccountDisabled(info: DirectoryInfo, username: string, disabled: boolean): Promise<void> {
  if (info.kind !== 'samba') throw new Error('account disabling is AD-only');
  const uac = AD_NORMAL_ACCOUNT | (disabled ? AD_ACCOUNT_DISABLE : 0);
  await withAdmin(info, (client) =>
    client.modify(
      userDn(info, username),
      new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'userAccountControl', values: [String(uac)] }),
      }),
    ),
  );
}

/**
 * Renames a user (modify DN). slapd's refint/memberof overlays and AD's linked attributes carry group
 * memberships over. On AD the login names (sAMAccountName, userPrincipalName) change with it.
 */
export async function renameUser(info: DirectoryInfo, oldName: string, newName: string): Promise<void> {
  await withAdmin(info, async (client) => {
    // A new RDN alone keeps the entry under the same parent.
    const rdn = info.kind === 'slapd' ? `uid=${escapeDnValue(newName)}` : `CN=${escapeDnValue(newName)}`;
    await client.modifyDN(userDn(info, oldName), rdn);
    if (info.kind === 'samba') {
      await client.modify(userDn(info, newName), [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'sAMAccountName', values: [newName] }),
        }),
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'userPrincipalName', values: [`${newName}@${info.realm}`] }),
        }),
      ]);
    }
  });
}

/**
 * Creates a group with these direct members (the member groups must exist).
 * On slapd a group with no members gets info.emptyGroupMember, because groupOfNames requires a member.
 */
export async function createGroup(
  info: DirectoryInfo,
  cn: string,
  memberUsernames: string[],
  memberGroupCns: string[] = [],
): Promise<void> {
  const members = [...memberUsernames.map((u) => userDn(info, u)), ...memberGroupCns.map((g) => groupDn(info, g))];
  await withAdmin(info, (client) =>
    info.kind === 'slapd'
      ? client.add(groupDn(info, cn), {
          objectClass: ['top', 'groupOfNames'],
          cn,
          member: members.length > 0 ? members : [info.emptyGroupMember],
        })
      : client.add(groupDn(info, cn), {
          objectClass: ['top', 'group'],
          cn,
          sAMAccountName: cn,
          groupType: AD_GLOBAL_SECURITY_GROUP,
          ...(members.length > 0 ? { member: members } : {}),
        }),
  );
}

export async function deleteGroup(info: DirectoryInfo, cn: string): Promise<void> {
  await withAdmin(info, (client) => client.del(groupDn(info, cn)));
}

export async function addUserToGroup(info: DirectoryInfo, username: string, groupCn: string): Promise<void> {
  await changeMember(info, groupCn, userDn(info, username), 'add');
}

export async function removeUserFromGroup(info: DirectoryInfo, username: string, groupCn: string): Promise<void> {
  await changeMember(info, groupCn, userDn(info, username), 'delete');
}

/** Nests group childCn in group parentCn. */
export async function addGroupToGroup(info: DirectoryInfo, childCn: string, parentCn: string): Promise<void> {
  await changeMember(info, parentCn, groupDn(info, childCn), 'add');
}

export async function removeGroupFromGroup(info: DirectoryInfo, childCn: string, parentCn: string): Promise<void> {
  await changeMember(info, parentCn, groupDn(info, childCn), 'delete');
}

async function changeMember(
  info: DirectoryInfo,
  groupCn: string,
  memberDn: string,
  operation: 'add' | 'delete',
): Promise<void> {
  const dn = groupDn(info, groupCn);
  const change = (op: 'add' | 'delete' | 'replace', values: string[]): Change =>
    new Change({ operation: op, modification: new Attribute({ type: 'member', values }) });
  await withAdmin(info, async (client) => {
    if (info.kind === 'samba') {
      await client.modify(dn, change(operation, [memberDn]));
      return;
    }
    // groupOfNames must keep a member: swap the placeholder in and out instead of emptying the group.
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['member'] });
    const raw = searchEntries[0]?.member ?? [];
    const current = (Array.isArray(raw) ? raw : [raw]).map(String);
    const isPlaceholder = (v: string): boolean => v.toLowerCase() === info.emptyGroupMember.toLowerCase();
    if (operation === 'add') {
      const changes = [change('add', [memberDn])];
      if (current.some(isPlaceholder)) changes.push(change('delete', [info.emptyGroupMember]));
      await client.modify(dn, changes);
    } else if (current.filter((v) => !isPlaceholder(v)).length <= 1) {
      // Removing the last real member (the server checks that it was a member).
      await client.modify(dn, [change('delete', [memberDn]), change('add', [info.emptyGroupMember])]);
    } else {
      await client.modify(dn, change('delete', [memberDn]));
    }
  });
}

/**
 * Adds USERS and GROUPS from fixtures.ts. Groups are created with their user members first and nested
 * afterwards, because nesting needs both groups to exist (and fixtures contain a cycle).
 */
export async function seedFixtures(info: DirectoryInfo): Promise<void> {
  await Promise.all(USERS.map((user) => createUser(info, user)));
  await Promise.all(GROUPS.map((group) => createGroup(info, group.cn, group.members)));
  for (const group of GROUPS) {
    for (const child of group.groupMembers ?? []) await addGroupToGroup(info, child, group.cn);
  }
}

// ---- Active Directory account states (Samba only) ----

/** Milliseconds between 1601-01-01 (the FILETIME epoch) and 1970-01-01. */
const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;

/** A date as an AD FILETIME (accountExpires, pwdLastSet): 100-ns intervals since 1601-01-01 UTC. */
export function toFileTime(date: Date): string {
  return String((BigInt(date.getTime()) + FILETIME_EPOCH_OFFSET_MS) * 10_000n);
}

/** A negative AD interval (the PSO ages and durations are stored negated), from minutes. */
function adInterval(minutes: number): string {
  return String(-BigInt(minutes) * 60n * 10_000_000n);
}

function sambaOnly(info: DirectoryInfo, what: string): SambaInfo {
  if (info.kind !== 'samba') throw new Error(`${what} is AD-only`);
  return info;
}

async function replaceAttribute(info: DirectoryInfo, username: string, type: string, value: string): Promise<void> {
  await withAdmin(info, (client) =>
    client.modify(
      userDn(info, username),
      new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) }),
    ),
  );
}

/** AD only: pwdLastSet=0, the "user must change password at next logon" flag (bind sub-code 773). */
export async function requirePasswordChange(info: DirectoryInfo, username: string): Promise<void> {
  await replaceAttribute(sambaOnly(info, 'pwdLastSet'), username, 'pwdLastSet', '0');
}

/** AD only: the account expires at `when` (bind sub-code 701 once it is past). */
export async function setAccountExpires(info: DirectoryInfo, username: string, when: Date): Promise<void> {
  await replaceAttribute(sambaOnly(info, 'accountExpires'), username, 'accountExpires', toFileTime(when));
}

export interface PasswordSettingsOptions {
  /** Bad passwords before the account locks (0: never). */
  lockoutThreshold: number;
}

/**
 * AD only: a fine-grained password settings object (PSO) applied to one user, so that user gets its own
 * lockout threshold while the domain policy (and every other user) stays as it is. Created over LDAP as the
 * administrator, like `samba-tool domain passwordsettings pso create` + `pso apply` would.
 */
export async function applyPasswordSettings(
  info: DirectoryInfo,
  name: string,
  username: string,
  options: PasswordSettingsOptions,
): Promise<void> {
  const samba = sambaOnly(info, 'a password settings object');
  await withAdmin(samba, (client) =>
    client.add(passwordSettingsDn(samba, name), {
      objectClass: ['top', 'msDS-PasswordSettings'],
      'msDS-PasswordSettingsPrecedence': '1',
      'msDS-PasswordReversibleEncryptionEnabled': 'FALSE',
      'msDS-PasswordHistoryLength': '0',
      'msDS-PasswordComplexityEnabled': 'TRUE',
      'msDS-MinimumPasswordLength': '7',
      'msDS-MinimumPasswordAge': '0',
      'msDS-MaximumPasswordAge': adInterval(42 * 24 * 60),
      'msDS-LockoutThreshold': String(options.lockoutThreshold),
      'msDS-LockoutObservationWindow': adInterval(30),
      'msDS-LockoutDuration': adInterval(30),
      'msDS-PSOAppliesTo': userDn(samba, username),
    }),
  );
}

export async function deletePasswordSettings(info: DirectoryInfo, name: string): Promise<void> {
  const samba = sambaOnly(info, 'a password settings object');
  await withAdmin(samba, (client) => client.del(passwordSettingsDn(samba, name)));
}

function passwordSettingsDn(info: SambaInfo, name: string): string {
  return `CN=${escapeDnValue(name)},CN=Password Settings Container,CN=System,${info.baseDn}`;
}

/**
 * AD only: sets the user's password as if it had been set at `when`, so it can be older than the maximum
 * password age (bind sub-code 532). Over LDAP pwdLastSet only takes 0 or -1, and Samba treats any maximum age
 * of one day or less as "never expires", so a PSO with a tiny age cannot do it. This writes the directory's
 * database directly (as samba-tool does) through Samba's Python bindings, with the control Samba's own upgrade
 * path uses to keep a given pwdLastSet (DSDB_CONTROL_PASSWORD_BYPASS_LAST_SET_OID).
 */
export async function setPasswordAsOf(
  info: DirectoryInfo,
  username: string,
  password: string,
  when: Date,
): Promise<void> {
  const samba = sambaOnly(info, 'pwdLastSet');
  const script = `
import sys, ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
conf, dn, password, last_set = sys.argv[1:5]
lp = LoadParm()
lp.load(conf)
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
m = ldb.Message(ldb.Dn(db, dn))
m['unicodePwd'] = ldb.MessageElement(('"%s"' % password).encode('utf-16-le'), ldb.FLAG_MOD_REPLACE, 'unicodePwd')
m['pwdLastSet'] = ldb.MessageElement(last_set, ldb.FLAG_MOD_REPLACE, 'pwdLastSet')
db.modify(m, controls=['local_oid:1.3.6.1.4.1.7165.4.3.20:0'])
`;
  const conf = path.join(samba.dir, 'etc', 'smb.conf');
  // Test passwords only, so the command line may carry one.
  await promisify(execFile)(await sambaPython(), [
    '-c',
    script,
    conf,
    userDn(samba, username),
    password,
    toFileTime(when),
  ]);
}

/** The interpreter samba-tool runs with: the one that has Samba's bindings (a python3 on PATH may not). */
async function sambaPython(): Promise<string> {
  const { stdout } = await promisify(execFile)('sh', ['-c', 'command -v samba-tool']);
  const shebang = /^#!\s*(\S+)/.exec(readFileSync(stdout.trim(), 'utf8').split('\n', 1)[0]);
  return shebang?.[1] ?? '/usr/bin/python3';
}

// ---- slapd access rules (OpenLDAP only) ----

/**
 * Puts `rules` (slapd.conf `access to …` directives) ahead of the configuration's own, and restarts slapd so they
 * apply: a permission change an operator could make. An empty list restores the configuration as it was. Only
 * for a slapd the test started itself (startSlapd), since the shared one cannot be restarted from a test.
 */
export async function setSlapdAccessRules(handle: SlapdHandle, rules: string[]): Promise<void> {
  const conf = path.join(handle.dir, 'slapd.conf');
  const original = `${conf}.orig`;
  if (!existsSync(original)) await copyFile(conf, original);
  const text = await readFile(original, 'utf8');
  const first = text.search(/^access to /m);
  if (first < 0) throw new Error(`${conf} has no access rules to put these ahead of`);
  await writeFile(conf, `${text.slice(0, first)}${rules.map((r) => `${r.trim()}\n`).join('')}${text.slice(first)}`);
  await handle.restart();
}
