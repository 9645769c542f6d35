import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { metrics } from '@opentelemetry/api';
import {
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { EmbeddedDirectory } from '../testing/embedded-directory.js';
import { LdapAuthModule } from '../ldap-auth.module.js';
import { databaseOptionsFromUrl } from '../database/database-options.js';
import { LdapLoginService } from '../login/ldap-login.service.js';
import { LdapSyncService } from '../sync/ldap-sync.service.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';

const SEED = fileURLToPath(new URL('../../../../dev/directory.ldif', import.meta.url));

/** A reader the test collects from when it wants (no exporter, no timer). */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

type Attributes = Record<string, string>;

/** The points of one metric, by name. */
function pointsOf(collected: ResourceMetrics, name: string): Array<DataPoint<unknown>> {
  const metric = collected.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  return metric?.dataPoints ?? [];
}

/** The value of the point with exactly these attributes (a histogram's: its count). */
function valueOf(collected: ResourceMetrics, name: string, attributes: Attributes): number | undefined {
  const point = pointsOf(collected, name).find(
    (p) => JSON.stringify(sorted(p.attributes as Attributes)) === JSON.stringify(sorted(attributes)),
  );
  if (point === undefined) return undefined;
  return typeof point.value === 'number' ? point.value : (point.value as Histogram).count;
}

const sorted = (a: Attributes) => Object.fromEntries(Object.entries(a).sort(([x], [y]) => x.localeCompare(y)));

describe('the library metrics, on an in-memory MeterProvider (embedded directory, SQLite)', () => {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  let directory: EmbeddedDirectory;
  let app: INestApplicationContext;
  let dir: string;
  const collect = async () => (await reader.collect()).resourceMetrics;

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(provider);
    directory = await EmbeddedDirectory.start({ ldifPath: SEED });
    dir = mkdtempSync(path.join(tmpdir(), 'ldap-metrics-spec-'));
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot(databaseOptionsFromUrl(`sqlite:${path.join(dir, 'app.sqlite')}`)),
        LdapAuthModule.forRoot({
          server: { url: directory.url, searchBase: 'ou=people,dc=example,dc=com' },
          serviceAccount: { username: 'cn=ldap-sync,ou=services,dc=example,dc=com', password: 'sync-password' },
          sync: { enabled: false },
          // Not mirrored at login (groupSync 'none'): the first sync creates the group and its memberships.
          syncedGroups: ['cn=developers,ou=groups,dc=example,dc=com'],
          defaultOrganisationId: 1,
        }),
      ],
    }).compile();
    moduleRef.useLogger(false);
    app = await moduleRef.init();
  });

  afterAll(async () => {
    await app?.close();
    await directory?.stop();
    metrics.disable();
    await provider.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a successful login, with the bind and search it took', async () => {
    await app.get(LdapLoginService).login('alice', 'alice-password');
    const collected = await collect();
    expect(valueOf(collected, 'ldap_auth_logins', { outcome: 'success' })).toBe(1);
    const operations = 'ldap_auth_ldap_operation_duration_seconds';
    expect(valueOf(collected, operations, { operation: 'bind', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(collected, operations, { operation: 'search', outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(collected, 'ldap_auth_pool_connections', { pool: 'login', state: 'idle' })).toBe(1);
    expect(valueOf(collected, 'ldap_auth_pool_connections', { pool: 'login', state: 'in_use' })).toBe(0);
  });

  it('counts a refused login under its reason code, and the refused bind', async () => {
    const before = await collect();
    const refusedBinds = valueOf(before, 'ldap_auth_ldap_operation_duration_seconds', {
      operation: 'bind',
      outcome: 'refused',
    });
    await expect(app.get(LdapLoginService).login('bob', 'not-bobs-password')).rejects.toThrow(InvalidCredentialsError);
    const collected = await collect();
    expect(valueOf(collected, 'ldap_auth_logins', { outcome: 'failure', reason: 'wrong_credentials' })).toBe(1);
    expect(valueOf(collected, 'ldap_auth_logins', { outcome: 'success' })).toBe(1);
    expect(
      valueOf(collected, 'ldap_auth_ldap_operation_duration_seconds', { operation: 'bind', outcome: 'refused' }),
    ).toBe((refusedBinds ?? 0) + 1);
  });

  it('does not count a dry run, nor its planned changes', async () => {
    const report = await app.get(LdapSyncService).run({ dryRun: true });
    expect(report.changes?.counts).toEqual({ group_created: 1, membership_added: 1 });
    const collected = await collect();
    expect(pointsOf(collected, 'ldap_auth_sync_runs')).toEqual([]);
    expect(pointsOf(collected, 'ldap_auth_sync_changes')).toEqual([]);
  });

  it('counts a sync run by mode and status, its changes by kind, and reports when the last one succeeded', async () => {
    const started = Date.now() / 1000;
    const report = await app.get(LdapSyncService).run();
    expect(report.status).toBe('succeeded');
    const collected = await collect();
    expect(valueOf(collected, 'ldap_auth_sync_runs', { mode: 'full', status: 'succeeded' })).toBe(1);
    expect(valueOf(collected, 'ldap_auth_sync_run_duration_seconds', { mode: 'full', status: 'succeeded' })).toBe(1);
    // Alice is the only developer with a row.
    expect(pointsOf(collected, 'ldap_auth_sync_changes').map((p) => [p.attributes, p.value])).toEqual([
      [{ mode: 'full', kind: 'group_created' }, 1],
      [{ mode: 'full', kind: 'membership_added' }, 1],
    ]);
    const last = valueOf(collected, 'ldap_auth_sync_last_success_timestamp_seconds', {});
    expect(last).toBeGreaterThanOrEqual(Math.floor(started));
    expect(last).toBeLessThanOrEqual(Date.now() / 1000 + 1);
  });
});
