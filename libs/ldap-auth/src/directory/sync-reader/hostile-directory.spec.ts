/**
 * The full sync's reader against a broken or hostile directory (a fake server in this process): every bound
 * ends the read with an IncompleteDirectoryReadError, which the sync reports as aborted before it writes.
 * Each read is awaited with a bound (`within`), so a read that would never end fails the test instead.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { IncompleteDirectoryReadError } from '../../errors/ldap-auth.errors.js';
import {
  HostileLdapServer,
  searchDone,
  searchEntry,
  streamHugeEntry,
  within,
  type SearchScript,
} from '../../../../../test/support/hostile-ldap-server.js';
import type { BulkReadLimits } from './bulk-read-connection.js';
import { serverInfoFromRootDse } from '../server-info.js';
import { readDirectorySnapshot, type SnapshotReadOptions } from './snapshot-reader.js';

const BASE = 'dc=example,dc=com';
const GROUP = `cn=staff,ou=groups,${BASE}`;
const MiB = 1024 * 1024;
const OPTIONS: SnapshotReadOptions = {
  searchBase: BASE,
  objectClass: 'inetOrgPerson',
  userFields: { username: 'uid', email: 'mail' },
  groupDns: [],
  nestedGroups: false,
  memberAttribute: 'member',
};

function user(messageId: number, i: number, extra: Array<[string, string[]]> = []): Buffer {
  const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return searchEntry(messageId, `uid=u${i},${BASE}`, [['uid', [`u${i}`]], ['entryUUID', [uuid]], ...extra]);
}

describe('the sync reader refuses what a broken or hostile directory sends', () => {
  let server: HostileLdapServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  /** The full read (users, then `groupDns`) against a server that answers with `script`; what it threw. */
  async function readAgainst(
    script: SearchScript,
    options: Partial<SnapshotReadOptions> = {},
    limits?: Partial<BulkReadLimits>,
    boundMs = 15_000,
  ): Promise<unknown> {
    server = await HostileLdapServer.start(script);
    const connection = await server.connect(5_000, limits);
    const read = readDirectorySnapshot(connection, serverInfoFromRootDse(undefined), { ...OPTIONS, ...options });
    return within(read, boundMs).then(
      (snapshot) => snapshot,
      (error: unknown) => error,
    );
  }

  it('a page of more entries than the page size asked for (a server streaming entries without end)', async () => {
    let entriesSent = 0;
    const error = await readAgainst(async ({ messageId }, client) => {
      while (!client.closed && entriesSent < 200_000) {
        const batch = Array.from({ length: 500 }, () => user(messageId, entriesSent++));
        await client.send(...batch);
      }
    });
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/more entries than the 1000 asked for/);
    // The connection was closed at once: the server could not go on sending.
    expect(entriesSent).toBeLessThan(50_000);
  }, 30_000);

  it('a group read (a base search) answered with more than one entry', async () => {
    const error = await readAgainst(
      ({ messageId, baseDN }, client) =>
        client.send(
          ...(baseDN === GROUP
            ? [searchEntry(messageId, GROUP, [['cn', ['staff']]]), searchEntry(messageId, GROUP, [['cn', ['x']]])]
            : [user(messageId, 1)]),
          searchDone(messageId),
        ),
      { groupDns: [GROUP] },
    );
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/more entries than the 1 asked for/);
  });

  it('empty pages that keep asking for more: stops after 100 in a row instead of looping forever', async () => {
    const error = await readAgainst(({ messageId }, client) =>
      client.send(searchDone(messageId, Buffer.from('always more'))),
    );
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/101 pages in a row had no entry/);
    // The users' pages (one asked for ahead), nothing after the refusal.
    expect(server!.searches.length).toBeLessThanOrEqual(102);
  }, 30_000);

  it('a read that makes progress too slowly to ever end: stopped at its deadline', async () => {
    let sent = 0;
    const error = await readAgainst(
      ({ messageId }, client) => {
        // One entry per page, 50 ms apart: every message is in time, the read never ends.
        setTimeout(() => void client.send(user(messageId, sent++), searchDone(messageId, Buffer.from('more'))), 50);
      },
      {},
      { deadlineMs: 1_000 },
      10_000,
    );
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/the read took longer than 1000 ms/);
  }, 30_000);

  it('an attribute named "dn" (it would replace the entry\'s DN, and with it group memberships)', async () => {
    const error = await readAgainst(({ messageId }, client) =>
      client.send(user(messageId, 1, [['dn', [`uid=admin,${BASE}`]]]), searchDone(messageId)),
    );
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/has an attribute named "dn"/);
  });

  it('a message over 64 MiB is refused from its header, and the event loop stays responsive meanwhile', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const error = await readAgainst(({ messageId }, client) => streamHugeEntry(client, messageId, 250 * MiB));
    delay.disable();
    expect(error).toBeInstanceOf(IncompleteDirectoryReadError);
    expect((error as Error).message).toMatch(/a message of \d+ bytes, over the limit of 67108864 bytes/);
    expect(server!.sent).toBeLessThan(128 * MiB);
    // Logins share this event loop. Gathering this message used to hold it for most of a second at a time,
    // until the receive timeout; refused from its header, it is not held at all.
    expect(delay.max / 1e6).toBeLessThan(300);
  }, 60_000);
});

describe('the sync reader keeps up with large messages and odd attribute names', () => {
  let server: HostileLdapServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('gathers a 64 MB message (limit raised) in linear time, the event loop never blocked for long', async () => {
    server = await HostileLdapServer.start(async ({ messageId }, client) => {
      await streamHugeEntry(client, messageId, 64 * MiB);
      await client.send(searchDone(messageId));
    });
    const connection = await server.connect(5_000, { maxMessageBytes: 128 * MiB });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const page = await within(
      connection.search('cn=huge', { scope: 'base', filter: '(objectClass=*)', attributes: ['description'] }),
      20_000,
    ).finally(() => delay.disable());
    expect((page.searchEntries[0].description as string).length).toBe(64 * MiB);
    // Joined once (tens of ms); joined at every chunk it took longer than the 5 s receive timeout.
    expect(delay.max / 1e6).toBeLessThan(300);
  }, 60_000);

  it('takes a 20 MB message with the default limits (an OpenLDAP group of 400,000 members is 17.6 MB)', async () => {
    server = await HostileLdapServer.start(async ({ messageId }, client) => {
      await streamHugeEntry(client, messageId, 20 * MiB);
      await client.send(searchDone(messageId));
    });
    const connection = await server.connect(5_000);
    const page = await within(
      connection.search('cn=big', { scope: 'base', filter: '(objectClass=*)', attributes: ['description'] }),
      20_000,
    );
    expect((page.searchEntries[0].description as string).length).toBe(20 * MiB);
  }, 60_000);

  it('asks the server for no time limit of its own: a whole-directory read may take longer than ldapts’s 10 s', async () => {
    server = await HostileLdapServer.start(({ messageId }, client) => client.send(searchDone(messageId)));
    const connection = await server.connect(5_000);
    await connection.search('ou=people,dc=example,dc=com', { scope: 'sub', filter: '(objectClass=*)', attributes: [] });
    expect(server.searches.map((search) => search.timeLimit)).toEqual([0]);
  });

  it('keeps __proto__ and constructor as plain attributes, and merges an attribute sent twice', async () => {
    server = await HostileLdapServer.start(({ messageId }, client) =>
      client.send(
        searchEntry(messageId, 'cn=odd,dc=example,dc=com', [
          ['__proto__', ['x', 'y']],
          ['constructor', ['c']],
          ['mail', ['a@example.com']],
          ['MAIL', ['b@example.com', 'c@example.com']],
        ]),
        searchDone(messageId),
      ),
    );
    const connection = await server.connect(5_000);
    const { searchEntries } = await within(
      connection.search('cn=odd,dc=example,dc=com', { scope: 'base', filter: '(objectClass=*)', attributes: ['*'] }),
      10_000,
    );
    const entry = searchEntries[0];
    expect(Object.keys(entry)).toEqual(['dn', '__proto__', 'constructor', 'mail']);
    expect(entry.dn).toBe('cn=odd,dc=example,dc=com');
    expect(Object.getOwnPropertyDescriptor(entry, '__proto__')?.value).toEqual(['x', 'y']);
    expect(Array.isArray(Object.getPrototypeOf(entry))).toBe(false);
    expect(entry.constructor).toBe('c');
    // An attribute the server did not send reads as missing, whatever its name.
    expect(entry.valueOf).toBeUndefined();
    expect(entry.mail).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });
});
