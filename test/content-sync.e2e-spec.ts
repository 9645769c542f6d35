/**
 * RFC 4533 content synchronisation (refreshOnly) on the sync's own connection, against a real slapd with the
 * syncprov overlay: without a session log (refreshes from a cookie use the present phase), with one (they
 * use the delete phase), and without syncprov (the Sync Request is refused).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import net from 'node:net';
import { Attribute, Change } from 'ldapts';
import { BerCursor } from '../libs/ldap-auth/src/directory/sync-reader/ber-cursor.js';
import { BulkReadConnection } from '../libs/ldap-auth/src/directory/sync-reader/bulk-read-connection.js';
import {
  type ContentSyncRefresh,
  ContentSyncRefreshRequiredError,
  ContentSyncUnavailableError,
} from '../libs/ldap-auth/src/directory/sync-reader/content-sync.js';
import {
  decodeLdapMessage,
  LdapMessageFramer,
  LdapResponseOp,
} from '../libs/ldap-auth/src/directory/sync-reader/ldap-message-decoder.js';
import { ROOT_DSE_ATTRIBUTES, serverInfoFromRootDse } from '../libs/ldap-auth/src/directory/server-info.js';
import {
  addUserToGroup,
  adminClient,
  createUser,
  deleteUser,
  renameUser,
  setAttributes,
  userDn,
} from './support/directory-admin.js';
import type { FixtureUser } from './support/fixtures.js';
import { startSlapd, type SlapdHandle, type SlapdInfo } from './support/slapd.js';

/** What the server sent, one word per message: `entry:add`, `info:syncIdSet`, `info:syncIdSet(deletes)`, `done`. */
type Trace = string[];

const STATES = ['present', 'add', 'modify', 'delete'];
const INFO_CHOICES: Record<number, string> = {
  0x80: 'newcookie',
  0xa1: 'refreshDelete',
  0xa2: 'refreshPresent',
  0xa3: 'syncIdSet',
};

/** A connection bound as the service account, and a trace of every message the server sends on it. */
async function connect(info: SlapdInfo): Promise<{ reader: BulkReadConnection; trace: Trace }> {
  const url = new URL(info.url);
  const socket = net.connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  const trace: Trace = [];
  const framer = new LdapMessageFramer(1 << 26);
  socket.on('data', (chunk: Buffer) =>
    framer.push(chunk, (data, start, end) => trace.push(describeMessage(data.subarray(start, end)))),
  );
  const reader = new BulkReadConnection(socket, 10_000);
  await reader.bind(info.serviceDn, info.servicePassword);
  trace.length = 0;
  return { reader, trace };
}

function describeMessage(message: Buffer): string {
  const decoded = decodeLdapMessage(message, new Set());
  if (decoded.op === LdapResponseOp.searchEntry && 'entry' in decoded) {
    const state = decoded.controls?.[0]?.value?.[4];
    return `entry:${state === undefined ? 'none' : STATES[state]}`;
  }
  if (decoded.op === LdapResponseOp.intermediate && 'responseValue' in decoded) {
    const value = decoded.responseValue ?? Buffer.alloc(0);
    const choice = INFO_CHOICES[value[0]] ?? 'unknown';
    // syncIdSet [3] { cookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE, syncUUIDs SET }
    let deletes = false;
    if (choice === 'syncIdSet') {
      const r = new BerCursor(value, 0, value.length);
      r.enter(0xa3);
      if (r.peekTag() === 0x04) r.skip();
      deletes = r.peekTag() === 0x01 && r.readBoolean();
    }
    return `info:${choice}${deletes ? '(deletes)' : ''}`;
  }
  return decoded.op === LdapResponseOp.searchDone ? 'done' : `op:${decoded.op}`;
}

/** Consecutive repeats folded (`entry:add x12`), so a trace reads in one line. */
function summary(trace: Trace): string[] {
  const out: Array<[string, number]> = [];
  for (const word of trace) {
    const last = out.at(-1);
    if (last?.[0] === word) last[1]++;
    else out.push([word, 1]);
  }
  return out.map(([word, n]) => (n === 1 ? word : `${word} x${n}`));
}

/** The users the sync reads: inetOrgPersons right under ou=people, minus those marked departed. */
const USER_SEARCH = {
  scope: 'one' as const,
  filter: '(&(objectClass=inetOrgPerson)(!(employeeType=departed)))',
  attributes: ['uid', 'mail', 'memberOf', 'entryUUID'],
};

/** uid → entryUUID of every user the search finds, read with a plain search. */
async function usersNow(reader: BulkReadConnection, info: SlapdInfo): Promise<Map<string, string>> {
  const { searchEntries } = await reader.search(info.peopleDn, USER_SEARCH);
  return new Map(searchEntries.map((e) => [String(e.uid), String(e.entryuuid)]));
}

/** The member values of one group, read with a plain search. */
async function memberValues(reader: BulkReadConnection, groupsDn: string, cn: string): Promise<string[]> {
  const { searchEntries } = await reader.search(`cn=${cn},${groupsDn}`, {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['member'],
  });
  return [searchEntries[0]?.member ?? []].flat().map(String);
}

/** What a client that knew `before` (uuids) holds after applying a refresh. */
function applied(before: Iterable<string>, refresh: ContentSyncRefresh): Set<string> {
  const changed = refresh.changed.map((c) => c.uuid);
  const kept = [...before].filter((uuid) => !refresh.deleted.has(uuid) && (refresh.present?.has(uuid) ?? true));
  return new Set([...kept, ...changed]);
}

describe.each(['present', 'sessionlog'] as const)('content-sync refresh against slapd (syncprov, %s)', (mode) => {
  let slapd: SlapdHandle;
  let reader: BulkReadConnection;
  let trace: Trace;
  const person = (name: string): FixtureUser => ({
    username: `cs-${name}`,
    password: `Cs-${name}-pass1`,
    givenName: name,
    sn: 'ContentSync',
    mail: `${name}@example.com`,
  });

  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: mode });
    ({ reader, trace } = await connect(slapd));
  });
  afterAll(async () => {
    reader?.close();
    await slapd?.stop();
  });

  it('returns every user without a cookie, each with its entryUUID, and a cookie', async () => {
    const refresh = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, undefined);
    // slapd sends every entry with state add, then a Sync Done with the cookie.
    expect(summary(trace)).toEqual([`entry:add x${refresh.changed.length}`, 'done']);
    const users = await usersNow(reader, slapd);
    expect(new Map(refresh.changed.map((c) => [String(c.entry.uid), c.uuid]))).toEqual(users);
    for (const { uuid, entry } of refresh.changed) expect(entry.entryuuid).toBe(uuid);
    expect(refresh.deleted.size).toBe(0);
    expect(refresh.cookie).toMatch(/^rid=000,csn=/);
  });

  it('returns what changed since the cookie (adds, modifies, renames) and what left (deletes, moves, filtered out)', async () => {
    for (const name of ['stay', 'edit', 'rename', 'move', 'drop', 'depart', 'join'])
      await createUser(slapd, person(name));
    const first = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, undefined);
    const before = await usersNow(reader, slapd);
    const uuid = (name: string) => before.get(`cs-${name}`) as string;

    await createUser(slapd, person('new'));
    await setAttributes(slapd, 'cs-edit', { mail: 'edited@example.com' });
    await renameUser(slapd, 'cs-rename', 'cs-renamed');
    const admin = await adminClient(slapd);
    try {
      await admin.add(`ou=alumni,${slapd.baseDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'alumni' });
      await admin.modifyDN(userDn(slapd, 'cs-move'), `uid=cs-move,ou=alumni,${slapd.baseDn}`);
      await admin.modify(
        userDn(slapd, 'cs-depart'),
        new Change({ operation: 'add', modification: new Attribute({ type: 'employeeType', values: ['departed'] }) }),
      );
    } finally {
      await admin.unbind();
    }
    await deleteUser(slapd, 'cs-drop');
    await addUserToGroup(slapd, 'cs-join', 'admins');
    trace.length = 0;

    const refresh = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, first.cookie);
    const sent = summary(trace);
    const after = await usersNow(reader, slapd);
    // cs-join's memberOf changed too, but the memberof overlay's writes are not replicated: no change here.
    expect(refresh.changed.map((c) => String(c.entry.uid)).sort()).toEqual(['cs-edit', 'cs-new', 'cs-renamed']);
    expect(refresh.changed.find((c) => c.entry.uid === 'cs-renamed')?.uuid).toBe(uuid('rename'));
    expect(applied(before.values(), refresh)).toEqual(new Set(after.values()));
    // What slapd sends: the changed entries (state add, whether added, modified or renamed), and uuids in Sync
    // Info syncIdSet messages, never as present entries. Without a session log: one syncIdSet of every
    // unchanged entry (present phase). With one: a syncIdSet (refreshDeletes TRUE) per logged write, naming
    // the moved, deleted and no-longer-matching entries, and any other entry written (cs-join's group).
    const gone = ['move', 'depart', 'drop'].map(uuid);
    const known = [...before.values()];
    if (mode === 'present') {
      expect(sent).toEqual(['info:syncIdSet', 'entry:add x3', 'done']);
      expect(refresh.deleted.size).toBe(0);
      const unchanged = known.filter((u) => !gone.includes(u) && u !== uuid('edit') && u !== uuid('rename'));
      expect(refresh.present).toEqual(new Set(unchanged));
    } else {
      expect(sent).toEqual(['info:syncIdSet(deletes) x4', 'entry:add x3', 'done']);
      expect(refresh.present).toBeUndefined();
      expect([...refresh.deleted].filter((u) => known.includes(u)).sort()).toEqual(gone.sort());
    }
  });

  it('sees a group change when a member is added, not refint rewriting members after a rename or delete', async () => {
    const groups = { scope: 'one' as const, filter: '(objectClass=groupOfNames)', attributes: ['cn', 'member'] };
    for (const name of ['g1', 'g2', 'g3']) await createUser(slapd, person(name));
    await addUserToGroup(slapd, 'cs-g2', 'platform');
    await addUserToGroup(slapd, 'cs-g3', 'cycle-b');
    const first = await reader.syncRefresh(slapd.groupsDn, groups, undefined);
    await addUserToGroup(slapd, 'cs-g1', 'engineering');
    await renameUser(slapd, 'cs-g2', 'cs-g2b');
    await deleteUser(slapd, 'cs-g3');
    // refint rewrites the groups in the background: wait until it has.
    for (let i = 0; i < 100; i++) {
      const platform = await memberValues(reader, slapd.groupsDn, 'platform');
      const cycle = await memberValues(reader, slapd.groupsDn, 'cycle-b');
      if (platform.includes(userDn(slapd, 'cs-g2b')) && !cycle.includes(userDn(slapd, 'cs-g3'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await memberValues(reader, slapd.groupsDn, 'platform')).toContain(userDn(slapd, 'cs-g2b'));
    const refresh = await reader.syncRefresh(slapd.groupsDn, groups, first.cookie);
    // platform and cycle-b changed too, by refint, whose writes are not replicated: a delta must not count on
    // a group showing up when one of its members is renamed or deleted.
    expect(refresh.changed.map((c) => String(c.entry.cn))).toEqual(['engineering']);
  });

  it('answers a refresh with nothing changed with no entry and keeps the cookie, which works again', async () => {
    const first = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, undefined);
    trace.length = 0;
    const second = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, first.cookie);
    // slapd answers with a bare Sync Done: no cookie (the client keeps its own), refreshDeletes TRUE.
    expect(summary(trace)).toEqual(['done']);
    expect(second).toEqual({ cookie: first.cookie, changed: [], present: undefined, deleted: new Set() });
    expect(await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, second.cookie)).toEqual(second);
  });

  it('refuses to resume from a cookie slapd did not take, or one newer than its state', async () => {
    // A cookie slapd cannot parse gets every entry as an add, a delete phase naming nothing and an empty
    // cookie: the deletions since would be lost, so this is "refresh required".
    await expect(reader.syncRefresh(slapd.peopleDn, USER_SEARCH, 'garbage')).rejects.toThrow(
      ContentSyncRefreshRequiredError,
    );
    // A CSN past the server's contextCSN: unwillingToPerform, "consumer state is newer than provider!".
    const future = 'rid=000,csn=29991231235959.999999Z#000000#000#000000';
    await expect(reader.syncRefresh(slapd.peopleDn, USER_SEARCH, future)).rejects.toThrow(
      ContentSyncRefreshRequiredError,
    );
    await expect(reader.syncRefresh(slapd.peopleDn, USER_SEARCH, '')).rejects.toThrow(/cookie must be/);
  });

  it('answers a cookie older than everything (and than the session log) with a present phase', async () => {
    const old = 'rid=000,csn=20000101000000.000000Z#000000#000#000000';
    const refresh = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, old);
    const users = await usersNow(reader, slapd);
    expect(new Set(refresh.changed.map((c) => c.uuid))).toEqual(new Set(users.values()));
    // Present phase: whatever a client knew that is not listed is gone.
    expect(refresh.present).toEqual(new Set());
    expect(applied(['00000000-0000-0000-0000-000000000000'], refresh)).toEqual(new Set(users.values()));
    expect(refresh.cookie).toMatch(/^rid=000,csn=2\d{3}/);
    expect(refresh.cookie).not.toBe(old);
  });

  it('reads a cookie with a malformed CSN as none: full content without deletions (never send one)', async () => {
    // Recorded so a change in slapd shows: this answer looks like a delta in which nothing was deleted.
    const refresh = await reader.syncRefresh(slapd.peopleDn, USER_SEARCH, 'rid=000,csn=bogus');
    expect(refresh.changed.length).toBe((await usersNow(reader, slapd)).size);
    expect(refresh.present).toBeUndefined();
    expect(refresh.deleted.size).toBe(0);
  });
});

describe('content sync against slapd without syncprov', () => {
  let slapd: SlapdHandle;
  let reader: BulkReadConnection;
  beforeAll(async () => {
    slapd = await startSlapd({ contentSync: 'none' });
    ({ reader } = await connect(slapd));
  });
  afterAll(async () => {
    reader?.close();
    await slapd?.stop();
  });

  it('refuses the critical Sync Request control, and its root DSE does not advertise it', async () => {
    await expect(reader.syncRefresh(slapd.peopleDn, USER_SEARCH, undefined)).rejects.toThrow(
      ContentSyncUnavailableError,
    );
    const { searchEntries } = await reader.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ROOT_DSE_ATTRIBUTES,
    });
    expect(serverInfoFromRootDse(searchEntries[0]).contentSync).toBe(false);
    // The connection stays usable for the full read.
    expect((await usersNow(reader, slapd)).size).toBeGreaterThan(5);
  });
});
