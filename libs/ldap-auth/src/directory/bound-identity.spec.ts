import { describe, expect, it } from '@jest/globals';
import type { DirectoryUser } from '../model/directory-user.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { type BoundConnection, verifyBoundIdentity } from './bound-identity.js';

/** A forest of two domains: EXAMPLE (example.test) and its child CHILD (child.example.test). */
const EXAMPLE = { namingContext: 'dc=example,dc=test', netbiosName: 'EXAMPLE' };
const CHILD = { namingContext: 'dc=child,dc=example,dc=test', netbiosName: 'CHILD' };
const ALICE_SID = Buffer.from('0105000000000005150000000a0000000b0000000c000000e8030000', 'hex');
const GROUP_SID = Buffer.from('0105000000000005150000000a0000000b0000000c00000001020000', 'hex');

function adUser(dn: string, account: string, sid = ALICE_SID): DirectoryUser {
  return {
    dn,
    uuid: '00000000-0000-0000-0000-000000000001',
    username: account,
    usernames: [account],
    email: null,
    firstName: null,
    lastName: null,
    isActiveDirectory: true,
    attributes: { dn, sAMAccountName: [account], objectSid: [sid] },
  };
}
const parentAlice = adUser('CN=alice,CN=Users,DC=example,DC=test', 'alice');
const childAlice = adUser('CN=alice,CN=Users,DC=child,DC=example,DC=test', 'alice');

interface Fake {
  connection: BoundConnection;
  /** How many times the forest's domains were read. */
  reads: () => number;
}

/**
 * An AD connection as Windows shows it to a logged-in user: the root DSE's tokenGroups holds the user's groups
 * (not the user's own SID), so the check falls through to "Who am I?". `domains` is what each read of the
 * forest's domains returns, in turn (the last one repeats); a string is a read that failed.
 */
function windowsAd(whoAmI: string, domains: (typeof EXAMPLE)[][] | string = [[EXAMPLE, CHILD]]): Fake {
  let reads = 0;
  const connection = {
    activeDirectory: true,
    whoAmISupported: true,
    tokenSids: () => Promise.resolve([GROUP_SID]),
    whoAmI: () => Promise.resolve(whoAmI),
    forestDomains: () => {
      reads++;
      if (typeof domains === 'string') return Promise.resolve({ unreadable: domains });
      return Promise.resolve({ domains: domains[Math.min(reads, domains.length) - 1] });
    },
  };
  return { connection, reads: () => reads };
}

async function refusal(promise: Promise<void>): Promise<InvalidCredentialsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidCredentialsError);
  expect((error as InvalidCredentialsError).code).toBe('identity_mismatch');
  return error as InvalidCredentialsError;
}

describe('verifyBoundIdentity, "Who am I?" on a multi-domain Active Directory', () => {
  it("refuses CHILD\\alice for the parent domain's alice (UPN bind, the DNS-name domain recipe)", async () => {
    // The child's alice holds the UPN alice@example.test; AD resolves that bind to her, the search finds the
    // parent's alice by sAMAccountName.
    const { connection } = windowsAd('u:CHILD\\alice');
    const error = await refusal(verifyBoundIdentity(connection, 'alice@example.test', parentAlice));
    expect(error.reason).toBe(
      'bound as "u:CHILD\\\\alice", which is not the entry CN=alice,CN=Users,DC=example,DC=test: the entry is in domain EXAMPLE, not CHILD',
    );
  });

  it("accepts EXAMPLE\\alice for the parent domain's alice, whichever form was bound", async () => {
    for (const bindName of ['alice@example.test', 'EXAMPLE\\alice', 'alice']) {
      await expect(verifyBoundIdentity(windowsAd('u:EXAMPLE\\alice').connection, bindName, parentAlice)).resolves.toBe(
        undefined,
      );
    }
    // Names and NetBIOS domains compare without regard to case, as AD does.
    await expect(
      verifyBoundIdentity(windowsAd('u:example\\ALICE').connection, 'alice@example.test', parentAlice),
    ).resolves.toBe(undefined);
  });

  it("tells the child domain's alice from the parent's by the domain that holds the entry", async () => {
    await expect(verifyBoundIdentity(windowsAd('u:CHILD\\alice').connection, 'alice', childAlice)).resolves.toBe(
      undefined,
    );
    // dc=child,dc=example,dc=test is also under dc=example,dc=test: the closest domain holds the entry.
    const error = await refusal(verifyBoundIdentity(windowsAd('u:EXAMPLE\\alice').connection, 'alice', childAlice));
    expect(error.reason).toMatch(/: the entry is in domain CHILD, not EXAMPLE$/);
  });

  it('refuses another account of the same domain', async () => {
    const error = await refusal(verifyBoundIdentity(windowsAd('u:EXAMPLE\\bob').connection, 'alice', parentAlice));
    expect(error.reason).toMatch(/: the server names account "bob", the entry's sAMAccountName is "alice"$/);
  });

  it('refuses a name with no domain: which alice it is cannot be told', async () => {
    const error = await refusal(verifyBoundIdentity(windowsAd('u:alice').connection, 'alice', parentAlice));
    expect(error.reason).toMatch(/: the server names no domain, so the account cannot be placed$/);
  });

  it("refuses, and says why, when the forest's domains cannot be read", async () => {
    const { connection } = windowsAd(
      'u:EXAMPLE\\alice',
      'CN=Partitions,CN=Configuration,DC=example,DC=test: no access',
    );
    const error = await refusal(verifyBoundIdentity(connection, 'alice', parentAlice));
    expect(error.reason).toMatch(
      /: the forest's domains cannot be read \(CN=Partitions,CN=Configuration,DC=example,DC=test: no access\)$/,
    );
  });

  it('refuses an entry under none of the known domains once a fresh read does not know it either', async () => {
    const other = adUser('CN=alice,CN=Users,DC=other,DC=test', 'alice');
    const fake = windowsAd('u:OTHER\\alice', [[EXAMPLE, CHILD]]);
    const error = await refusal(verifyBoundIdentity(fake.connection, 'alice', other));
    expect(error.reason).toMatch(/: the entry is under none of the forest's domains \(EXAMPLE, CHILD\)$/);
    expect(fake.reads()).toBe(2);
  });

  it('accepts an entry of a domain added since the domains were first read (they are read again)', async () => {
    const other = adUser('CN=alice,CN=Users,DC=other,DC=test', 'alice');
    const added = { namingContext: 'dc=other,dc=test', netbiosName: 'OTHER' };
    const fake = windowsAd('u:OTHER\\alice', [
      [EXAMPLE, CHILD],
      [EXAMPLE, CHILD, added],
    ]);
    await expect(verifyBoundIdentity(fake.connection, 'alice', other)).resolves.toBe(undefined);
    expect(fake.reads()).toBe(2);
  });
});

describe('verifyBoundIdentity, the other ways of telling the identity', () => {
  it("accepts a token that holds the entry's objectSid without asking who the user is", async () => {
    const fake = windowsAd('u:CHILD\\alice');
    fake.connection.tokenSids = () => Promise.resolve([ALICE_SID, GROUP_SID]);
    await expect(verifyBoundIdentity(fake.connection, 'alice', parentAlice)).resolves.toBe(undefined);
    expect(fake.reads()).toBe(0);
  });

  it('compares a "dn:" answer with the entry\'s DN', async () => {
    await expect(
      verifyBoundIdentity(windowsAd('dn:cn=Alice,cn=users,dc=example,dc=test').connection, 'alice', parentAlice),
    ).resolves.toBe(undefined);
    await refusal(verifyBoundIdentity(windowsAd('dn:CN=bob,CN=Users,DC=example,DC=test').connection, 'x', parentAlice));
  });

  it('refuses a "u:" answer from a server that is not AD (no domains to place the name in)', async () => {
    const fake = windowsAd('u:alice');
    fake.connection.activeDirectory = false;
    const user = { ...parentAlice, isActiveDirectory: false };
    await refusal(verifyBoundIdentity(fake.connection, 'alice', user));
  });

  it('refuses an anonymous answer', async () => {
    await refusal(verifyBoundIdentity(windowsAd('').connection, 'alice', parentAlice));
  });

  it('compares a DN bind with the entry, and refuses a server that cannot tell who is bound', async () => {
    const fake = windowsAd('u:EXAMPLE\\alice');
    await expect(verifyBoundIdentity(fake.connection, parentAlice.dn, parentAlice)).resolves.toBe(undefined);
    await refusal(verifyBoundIdentity(fake.connection, childAlice.dn, parentAlice));
    fake.connection.whoAmISupported = false;
    fake.connection.tokenSids = () => Promise.resolve(undefined);
    const error = await refusal(verifyBoundIdentity(fake.connection, 'alice', parentAlice));
    expect(error.reason).toMatch(/no tokenGroups, no "Who am I\?"/);
  });
});
