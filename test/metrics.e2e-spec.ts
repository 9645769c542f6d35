/**
 * `GET /metrics` on the demo app against slapd: the library's logins, LDAP operations, pool, throttle refusals
 * and sync runs in Prometheus' text format, under their exact names and labels; off with METRICS_ENABLED=false.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { postLogin } from './support/app.js';
import { directoryEnv, serviceAccountEnv } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { testApps } from './support/test-app.js';

/** Every sample of the exposition, keyed `name{label="value",…}` with the labels sorted; HELP/TYPE lines apart. */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`);
    const key = labels.length ? `${match[1]}{${labels.sort().join(',')}}` : match[1];
    samples.set(key, Number(match[3]));
  }
  return samples;
}

async function scrape(app: INestApplication): Promise<{ text: string; samples: Map<string, number> }> {
  const response = await request(app.getHttpServer()).get('/metrics').expect(200);
  expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return { text: response.text, samples: samplesOf(response.text) };
}

describe('GET /metrics (Prometheus text)', () => {
  const apps = testApps();
  const alice = fixtureUser('alice');
  let app: INestApplication;
  let samples: Map<string, number>;
  let text: string;

  beforeAll(async () => {
    app = await apps.start('sqlite', {
      ...directoryEnv('openldap'),
      ...serviceAccountEnv('openldap'),
      // The third failed attempt for one account from one client is refused before LDAP.
      LOGIN_THROTTLE_LIMIT: '2',
    });
    await postLogin(app, alice.username, alice.password).expect(200);
    await postLogin(app, alice.username, 'not-the-password').expect(401);
    await postLogin(app, alice.username, 'not-the-password').expect(401);
    await postLogin(app, alice.username, 'not-the-password').expect(429);
    expect((await app.get(LdapSyncService).run()).status).toBe('succeeded');
    ({ text, samples } = await scrape(app));
  });

  it('counts logins by outcome and refusal reason', () => {
    expect(samples.get('ldap_auth_logins_total{outcome="success"}')).toBe(1);
    expect(samples.get('ldap_auth_logins_total{outcome="failure",reason="wrong_credentials"}')).toBe(2);
    expect([...samples.keys()].filter((k) => k.startsWith('ldap_auth_logins_total'))).toHaveLength(2);
    expect(text).toContain('# TYPE ldap_auth_logins_total counter');
  });

  it('counts the refusal of the login throttle', () => {
    expect(samples.get('ldap_auth_login_throttle_refusals_total')).toBe(1);
  });

  it('has a histogram of LDAP operations by operation and outcome, in seconds', () => {
    expect(text).toContain('# TYPE ldap_auth_ldap_operation_duration_seconds histogram');
    const count = (operation: string, outcome: string) =>
      samples.get(`ldap_auth_ldap_operation_duration_seconds_count{operation="${operation}",outcome="${outcome}"}`);
    // Alice's three binds (one right, two refused), the service account's, the sync reader's.
    expect(count('bind', 'refused')).toBe(2);
    expect(count('bind', 'success')).toBeGreaterThanOrEqual(2);
    expect(count('search', 'success')).toBeGreaterThanOrEqual(3);
    expect(
      samples.get('ldap_auth_ldap_operation_duration_seconds_bucket{le="+Inf",operation="bind",outcome="refused"}'),
    ).toBe(2);
  });

  it('shows the pools by state', () => {
    for (const state of ['in_use', 'idle', 'waiting']) {
      expect(samples.get(`ldap_auth_pool_connections{pool="login",state="${state}"}`)).toEqual(expect.any(Number));
    }
    expect(samples.get('ldap_auth_pool_connections{pool="login",state="idle"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('ldap_auth_pool_connections{pool="login",state="waiting"}')).toBe(0);
  });

  it('counts sync runs by mode and status, with the last success time', () => {
    expect(samples.get('ldap_auth_sync_runs_total{mode="full",status="succeeded"}')).toBe(1);
    expect(samples.get('ldap_auth_sync_run_duration_seconds_count{mode="full",status="succeeded"}')).toBe(1);
    const last = samples.get('ldap_auth_sync_last_success_timestamp_seconds') ?? 0;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(120);
  });

  it('names nothing after a user, and every metric starts with ldap_auth_', () => {
    expect(text).not.toContain(alice.username);
    expect([...samples.keys()].filter((k) => !k.startsWith('ldap_auth_'))).toEqual([]);
  });

  it('answers 404 with METRICS_ENABLED=false', async () => {
    const off = await apps.start('sqlite', { ...directoryEnv('openldap'), METRICS_ENABLED: 'false' });
    await request(off.getHttpServer()).get('/metrics').expect(404);
  });
});
