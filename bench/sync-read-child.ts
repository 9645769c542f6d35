/**
 * (Types only may be imported from here: importing the module runs the read.)
 *
 * One read of the bench directory with ldapts, in a process of its own so that its peak RSS is the read's
 * alone (sync.bench.ts starts it). Prints one JSON line on stdout: a ReadChildResult.
 *
 *   node sync-read-child.js '<ReadChildConfig as JSON>'
 *
 * Modes:
 * - idle: connect and bind only: Node + ldapts, the base every other mode's RSS is compared with.
 * - paged: users with searchPaginated (1,000 a page), counted and dropped: flat memory.
 * - flat: users with one search() and no paging: ldapts holds every entry until the search ends.
 * - groups: the groups' member values, paged.
 * - snapshot: users and groups, paged, kept as a sync must keep them (a Map of compact users by entryUUID,
 *   each group's members as a Set of entryUUIDs): the memory floor of a snapshot-then-reconcile sync.
 * - library: the library's own reader (readDirectorySnapshot on its BulkReadConnection), users paged and each
 *   listed group read as the sync reads it: the sync's read phase alone, without Nest or a database.
 */
import { Client } from 'ldapts';
import { BulkReadConnection } from '../libs/ldap-auth/src/directory/sync-reader/bulk-read-connection.js';
import { openLdapSocket } from '../libs/ldap-auth/src/directory/ldap-socket.js';
import { serverInfoFromRootDse } from '../libs/ldap-auth/src/directory/server-info.js';
import { readDirectorySnapshot } from '../libs/ldap-auth/src/directory/sync-reader/snapshot-reader.js';
import { normalizeDn } from '../libs/ldap-auth/src/model/dn.js';
import { GROUP_ATTRIBUTES, GROUP_FILTER, PAGE_SIZE, USER_ATTRIBUTES, USER_FILTER } from './sync-dataset.js';
import { applyBenchReadLimits } from './sync-limits.js';

export type ReadMode = 'idle' | 'paged' | 'flat' | 'groups' | 'snapshot' | 'library';

export interface ReadChildConfig {
  mode: ReadMode;
  url: string;
  bindDn: string;
  password: string;
  peopleDn: string;
  groupsDn: string;
  /** The listed groups (mode library). */
  groupDns?: string[];
}

export interface ReadChildResult {
  mode: ReadMode;
  /** Entries read (users, or groups, or both for snapshot). */
  entries: number;
  /** member values read (groups, snapshot). */
  values: number;
  /** From before the bind to the last entry. */
  seconds: number;
  /** Resident set size right after start-up (modules loaded, nothing read). */
  rssStartMb: number;
  /** Peak resident set size of this process (getrusage maxrss). */
  peakRssMb: number;
  /** Kept in the snapshot, when the mode keeps anything. */
  kept?: { users: number; memberships: number };
}

interface CompactUser {
  dn: string;
  username: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
}

async function main(): Promise<void> {
  applyBenchReadLimits();
  const config = JSON.parse(process.argv[2] ?? '') as ReadChildConfig;
  const rssStartMb = mb(process.memoryUsage().rss);
  if (config.mode === 'library') return readWithLibrary(config, rssStartMb);
  const client = new Client({ url: config.url, timeout: 120_000, connectTimeout: 5_000 });
  const t0 = performance.now();
  let entries = 0;
  let values = 0;
  let kept: ReadChildResult['kept'];
  try {
    await client.bind(config.bindDn, config.password);
    const users = (paged: boolean) =>
      ({
        scope: 'sub',
        filter: USER_FILTER,
        attributes: USER_ATTRIBUTES,
        ...(paged ? { paged: { pageSize: PAGE_SIZE } } : {}),
      }) as const;
    const groups = {
      scope: 'sub',
      filter: GROUP_FILTER,
      attributes: GROUP_ATTRIBUTES,
      paged: { pageSize: PAGE_SIZE },
    } as const;

    switch (config.mode) {
      case 'idle':
        break;
      case 'paged':
        for await (const page of client.searchPaginated(config.peopleDn, users(true)))
          entries += page.searchEntries.length;
        break;
      case 'flat': {
        const { searchEntries } = await client.search(config.peopleDn, users(false));
        entries = searchEntries.length;
        break;
      }
      case 'groups':
        for await (const page of client.searchPaginated(config.groupsDn, groups)) {
          for (const entry of page.searchEntries) {
            entries++;
            values += list(entry.member).length;
          }
        }
        break;
      case 'snapshot': {
        const byUuid = new Map<string, CompactUser>();
        const uuidByDn = new Map<string, string>();
        for await (const page of client.searchPaginated(config.peopleDn, users(true))) {
          for (const entry of page.searchEntries) {
            entries++;
            const uuid = first(entry.entryUUID)?.toLowerCase();
            if (!uuid) continue;
            byUuid.set(uuid, {
              dn: entry.dn,
              username: first(entry.uid) ?? '',
              email: first(entry.mail),
              firstName: first(entry.givenName),
              lastName: first(entry.sn),
            });
            uuidByDn.set(entry.dn.toLowerCase(), uuid);
          }
        }
        const groupMembers = new Map<string, Set<string>>();
        let memberships = 0;
        for await (const page of client.searchPaginated(config.groupsDn, groups)) {
          for (const entry of page.searchEntries) {
            entries++;
            const members = new Set<string>();
            for (const dn of list(entry.member)) {
              values++;
              const uuid = uuidByDn.get(dn.toLowerCase());
              if (uuid) members.add(uuid);
            }
            memberships += members.size;
            groupMembers.set(entry.dn.toLowerCase(), members);
          }
        }
        kept = { users: byUuid.size, memberships };
        break;
      }
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
  const seconds = (performance.now() - t0) / 1000;
  const result: ReadChildResult = {
    mode: config.mode,
    entries,
    values,
    seconds,
    rssStartMb,
    // maxRSS is in kilobytes.
    peakRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    kept,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function readWithLibrary(config: ReadChildConfig, rssStartMb: number): Promise<void> {
  const t0 = performance.now();
  const socket = await openLdapSocket(config.url, { starttls: false, tlsOptions: {}, deadlineMs: 5_000 });
  const reader = new BulkReadConnection(socket, 120_000);
  let snapshot;
  try {
    await reader.bind(config.bindDn, config.password);
    snapshot = await readDirectorySnapshot(reader, serverInfoFromRootDse(undefined), {
      searchBase: config.peopleDn,
      objectClass: 'inetOrgPerson',
      userFields: { username: 'uid', email: 'mail', firstName: 'givenName', lastName: 'sn' },
      groupDns: (config.groupDns ?? []).map(normalizeDn),
      nestedGroups: false,
      memberAttribute: 'member',
    });
  } finally {
    reader.close();
  }
  let memberships = 0;
  for (const group of snapshot.groups.values()) memberships += group.members.length;
  const result: ReadChildResult = {
    mode: config.mode,
    entries: snapshot.stats.entriesRead,
    values: memberships,
    seconds: (performance.now() - t0) / 1000,
    rssStartMb,
    peakRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    kept: { users: snapshot.users.size, memberships },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function first(value: unknown): string | null {
  return list(value)[0] ?? null;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
