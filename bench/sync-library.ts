/**
 * The library's full sync (LdapSyncService) as the sync benchmark runs it: one run, in a child process of its
 * own (sync-library-child.ts) so the peak RSS measured there is the sync's, against the scenario's directory
 * and a fresh, migrated copy of the app's database prepared by the harness (sync.bench.ts), which also checks
 * the tables afterwards. Only `LdapSyncService.run()` is timed; building the context is reported apart.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { cpuSeconds, cpuSnapshot, type CpuSeconds } from './cpu.js';
import { LdapSyncService } from '../libs/ldap-auth/src/index.js';
import { syncBenchModule } from './sync-bench-module.js';

export type LibrarySyncKind = 'first' | 'unchanged' | 'changed';

export interface LibrarySyncScenario {
  kind: LibrarySyncKind;
  /** 1-based, within this kind, size and database. */
  run: number;
  /** The bench's slapd (plain LDAP on 127.0.0.1). */
  directory: {
    url: string;
    baseDn: string;
    peopleDn: string;
    groupsDn: string;
    /** The sync account: reads everything without the 500-entry limit. Use as `server.bindDN`, verbatim. */
    serviceDn: string;
    servicePassword: string;
    /** slapd's process id, to count its CPU during the sync. */
    pid?: number;
  };
  /**
   * The app's database for this one run, already migrated and filled for the scenario (a fresh copy each
   * run). `url` is a DATABASE_URL: `postgres://…/<scratch db>` or `sqlite:/tmp/…/app.sqlite`.
   */
  database: { kind: 'postgres' | 'sqlite'; url: string };
  /** Exists in the database (name "Default"). */
  organisationId: number;
  /** Every group of the directory (200), as the directory writes their DNs: LDAP_SYNCED_GROUPS. */
  syncedGroups: string[];
  /** What the directory holds now (the "changed" scenario's after its changes), for progress lines. */
  directoryCounts: { users: number; groups: number; memberships: number };
}

export interface LibrarySyncResult {
  /** The sync alone: LdapSyncService's run, from the call to its return (committed). */
  syncSeconds: number;
  /** Building the Nest application context (database connection, directory pools); not in syncSeconds. */
  bootSeconds: number;
  /** process.memoryUsage().rss after boot, in MB, if measured: tells boot's share of the peak. */
  rssAfterBootMb?: number;
  /** The library's report of the run, JSON-serialisable. */
  report?: unknown;
  /** CPU the sync cost, core-seconds over the timed run: its own process, slapd, PostgreSQL, the whole machine. */
  cpu?: CpuSeconds;
}

/**
 * Runs one full sync of the library for `scenario` and returns its timings. Runs inside
 * sync-library-child.ts, never in the harness's own process. Throws when the run did not succeed.
 */
export async function runLibrarySync(scenario: LibrarySyncScenario): Promise<LibrarySyncResult> {
  const { directory } = scenario;
  const SyncBenchModule = syncBenchModule(
    scenario.database.url,
    directory,
    scenario.syncedGroups,
    scenario.organisationId,
  );

  const t0 = performance.now();
  const app = await NestFactory.createApplicationContext(SyncBenchModule, { logger: ['error'] });
  const bootSeconds = (performance.now() - t0) / 1000;
  const rssAfterBootMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
  try {
    const sync = app.get(LdapSyncService);
    const cpuBefore = cpuSnapshot(directory.pid ?? -1, undefined, scenario.database.kind === 'postgres');
    const t1 = performance.now();
    const report = await sync.run();
    const syncSeconds = (performance.now() - t1) / 1000;
    const cpu = cpuSeconds(
      cpuBefore,
      cpuSnapshot(directory.pid ?? -1, undefined, scenario.database.kind === 'postgres'),
    );
    if (report.status !== 'succeeded') throw new Error(`sync ${report.status}: ${report.reason}`);
    return { syncSeconds, bootSeconds, rssAfterBootMb, report, cpu };
  } finally {
    await app.close();
  }
}
