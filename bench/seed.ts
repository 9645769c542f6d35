/**
 * Adds the benchmark's users to a running slapd, as its administrator over LDAP (so they are ordinary
 * entries: the binds and searches of the benchmark are real ones).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { adminClient, sshaPassword } from '../test/support/directory-admin.js';
import type { SlapdHandle, SlapdInfo } from '../test/support/slapd.js';

export interface BenchUser {
  username: string;
  password: string;
}

/** bench00000 … bench09999, each with a password of its own. */
export function benchUsers(count: number): BenchUser[] {
  return Array.from({ length: count }, (_, i) => {
    const username = `bench${String(i).padStart(5, '0')}`;
    return { username, password: `Bench-${i}-pass` };
  });
}

/**
 * Adds `users` under ou=people on `connections` admin connections, each keeping `inFlight` adds outstanding
 * (slapd serialises the writes; the pipelining hides the round trips and the per-add commit).
 */
export async function seedUsers(
  slapd: SlapdInfo,
  users: readonly BenchUser[],
  connections = 4,
  inFlight = 8,
): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => adminClient(slapd)));
  try {
    let next = 0;
    const lane = async (client: (typeof clients)[number]): Promise<void> => {
      for (let i = next++; i < users.length; i = next++) {
        const { username, password } = users[i];
        await client.add(`uid=${username},${slapd.peopleDn}`, {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: username,
          cn: `Bench User ${i}`,
          givenName: 'Bench',
          sn: `User ${i}`,
          mail: `${username}@example.com`,
          userPassword: sshaPassword(password),
        });
      }
    };
    await Promise.all(clients.flatMap((client) => Array.from({ length: inFlight }, () => lane(client))));
  } finally {
    await Promise.all(clients.map((client) => client.unbind().catch(() => undefined)));
  }
}

/**
 * Runs `fn` (the seeding) with slapd's database commits not flushed to disk one by one (`dbnosync`), then
 * restarts slapd with its own configuration again, so the logins run on the harness's slapd exactly. slapd
 * writes everything out when it stops. Each add is its own commit: without this, seeding 10,000 users takes
 * several times longer here. Returns whether the setting was applied (when the configuration does not look
 * as expected, `fn` just runs as it is).
 */
export async function withoutDiskSync(slapd: SlapdHandle, fn: () => Promise<void>): Promise<boolean> {
  const confFile = path.join(slapd.dir, 'slapd.conf');
  const original = await readFile(confFile, 'utf8');
  const changed = original.replace(/^maxsize .*$/m, '$&\ndbnosync');
  if (changed === original) {
    await fn();
    return false;
  }
  await writeFile(confFile, changed);
  try {
    await slapd.restart();
    await fn();
  } finally {
    await writeFile(confFile, original);
    await slapd.restart();
  }
  return true;
}

/** The benchmark's groups: bench-group-0 … under ou=groups; user i is in groups i mod n and (i + 1) mod n. */
export function benchGroupDns(slapd: SlapdInfo, count: number): string[] {
  return Array.from({ length: count }, (_, k) => `cn=bench-group-${k},${slapd.groupsDn}`);
}

/**
 * Adds the groups, each with its members in one add (the memberof overlay then writes memberOf into every
 * member's entry), so a login reads two groups from the user's entry as it would in a real directory.
 */
export async function seedGroups(slapd: SlapdInfo, users: readonly BenchUser[], count: number): Promise<void> {
  const client = await adminClient(slapd);
  try {
    for (const [k, dn] of benchGroupDns(slapd, count).entries()) {
      const member = users
        .filter((_, i) => i % count === k || (i + 1) % count === k)
        .map((u) => `uid=${u.username},${slapd.peopleDn}`);
      await client.add(dn, { objectClass: ['top', 'groupOfNames'], cn: `bench-group-${k}`, member });
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
