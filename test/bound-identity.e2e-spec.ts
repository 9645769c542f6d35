/**
 * The "Who am I?" identity check's domain comparison against the real Samba AD: a real user's bind, the real
 * entry and the real partitions container, read by the library's own code.
 *
 * What Samba cannot show: it has no "Who am I?" (asserted below) and its token holds the user's own SID, so a
 * login never reaches that path there; the answer Windows AD gives for the bound user (`u:EXAMPLE\alice`) is
 * supplied by the test, and the token is shown without the entry's SID. A single-domain Samba has one crossRef
 * with a NetBIOS name, so a second (child) domain is shown by the unit tests only (bound-identity.spec.ts).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Client } from 'ldapts';
import { normalizeDn } from '@nest-ldap-auth/ldap-auth';
import { type BoundConnection, verifyBoundIdentity } from '../libs/ldap-auth/src/directory/bound-identity.js';
import {
  boundConnectionOf,
  ForestDomainCache,
  readForestDomains,
} from '../libs/ldap-auth/src/directory/identity-reads.js';
import { ROOT_DSE_ATTRIBUTES, serverInfoFromRootDse } from '../libs/ldap-auth/src/directory/server-info.js';
import { type DirectoryUser, toDirectoryUser } from '../libs/ldap-auth/src/model/directory-user.js';
import { InvalidCredentialsError } from '../libs/ldap-auth/src/errors/ldap-auth.errors.js';
import { fixtureUser } from './support/fixtures.js';
import { testServers } from './support/servers.js';

const { samba } = testServers();
const alice = fixtureUser('alice');
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.unbind().catch(() => undefined)));
});

/** A connection bound as `bindName` over LDAPS, as a login binds. */
async function bound(bindName: string, password: string): Promise<Client> {
  const client = new Client({
    url: samba.url,
    timeout: 10_000,
    connectTimeout: 5_000,
    tlsOptions: { ca: readFileSync(samba.caFile), servername: samba.servername },
  });
  clients.push(client);
  await client.bind(bindName, password);
  return client;
}

/** The entry as a login reads it (sAMAccountName, objectSid, objectGUID). */
async function entryOf(client: Client, account: string): Promise<DirectoryUser> {
  const { searchEntries } = await client.search(samba.usersDn, {
    scope: 'sub',
    filter: `(&(objectClass=user)(sAMAccountName=${account}))`,
    attributes: ['sAMAccountName', 'objectSid', 'objectGUID'],
    explicitBufferAttributes: ['objectSid', 'objectGUID'],
  });
  expect(searchEntries).toHaveLength(1);
  const user = toDirectoryUser(searchEntries[0], { username: 'sAMAccountName' }, { activeDirectory: true });
  if (!user) throw new Error(`no user from ${searchEntries[0].dn}`);
  return user;
}

/**
 * The library's view of the real bound connection, with "Who am I?" answered as Windows AD answers it and the
 * token shown without the entry's own SID, so the check goes on to the domain comparison.
 */
async function whoAmIPath(client: Client, user: DirectoryUser, answer: string, cache: ForestDomainCache) {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ROOT_DSE_ATTRIBUTES,
  });
  const server = serverInfoFromRootDse(searchEntries[0]);
  expect(server).toMatchObject({ activeDirectory: true, whoAmI: false });
  const real = boundConnectionOf(client, server, samba.url, cache);
  const sid = user.attributes.objectSid;
  const own = (Array.isArray(sid) ? sid[0] : sid) as Buffer;
  const connection: BoundConnection = {
    ...real,
    whoAmISupported: true,
    whoAmI: () => Promise.resolve(answer),
    tokenSids: async () => (await real.tokenSids())?.filter((s) => !s.equals(own)),
  };
  return connection;
}

describe('the "Who am I?" domain comparison on the real Samba AD', () => {
  it("reads the domain's NetBIOS name from the partitions container, as an ordinary user", async () => {
    const client = await bound(`${samba.domain}\\${alice.username}`, alice.password);
    expect(await readForestDomains(client)).toEqual({
      domains: [{ namingContext: normalizeDn(samba.baseDn), netbiosName: samba.domain }],
    });
  });

  it.each([
    ['the NetBIOS name', `${samba.domain}\\${alice.username}`],
    ['the UPN (the DNS-name domain recipe)', `${alice.username}@${samba.realm}`],
  ])('accepts EXAMPLE\\alice for the real alice, bound by %s', async (_form, bindName) => {
    const client = await bound(bindName, alice.password);
    const user = await entryOf(client, alice.username);
    const connection = await whoAmIPath(client, user, `u:${samba.domain}\\${alice.username}`, new ForestDomainCache());
    // The token without the entry's SID: the check had to ask who the user is.
    expect((await connection.tokenSids())?.length).toBeGreaterThan(0);
    await expect(verifyBoundIdentity(connection, bindName, user)).resolves.toBeUndefined();
  });

  it('refuses CHILD\\alice for the real alice: the real entry is in domain EXAMPLE', async () => {
    const bindName = `${alice.username}@${samba.realm}`;
    const client = await bound(bindName, alice.password);
    const user = await entryOf(client, alice.username);
    const connection = await whoAmIPath(client, user, `u:CHILD\\${alice.username}`, new ForestDomainCache());
    const error = await verifyBoundIdentity(connection, bindName, user).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidCredentialsError);
    expect((error as InvalidCredentialsError).reason).toBe(
      `bound as "u:CHILD\\\\alice", which is not the entry ${user.dn}: the entry is in domain EXAMPLE, not CHILD`,
    );
  });

  it("keeps the domains once read: a second login's check reads no partitions", async () => {
    const cache = new ForestDomainCache();
    const first = await bound(`${samba.domain}\\${alice.username}`, alice.password);
    const user = await entryOf(first, alice.username);
    const answer = `u:${samba.domain}\\${alice.username}`;
    await verifyBoundIdentity(await whoAmIPath(first, user, answer, cache), alice.username, user);
    // Unbound, ldapts reconnects anonymously, and Samba shows its partitions to no anonymous client: only the
    // kept domains can let this check pass (with a new cache it is refused, "cannot be read").
    const second = await bound(`${samba.domain}\\${alice.username}`, alice.password);
    const connection = await whoAmIPath(second, user, answer, cache);
    await second.unbind();
    await expect(verifyBoundIdentity({ ...connection, tokenSids: () => Promise.resolve([]) }, 'x', user)).resolves.toBe(
      undefined,
    );
  });
});
