/**
 * The first hour's silent mistakes, made loud: a misspelt LDAP_* variable, a search base outside the
 * directory's data, and an LDAP result code that reached a person as ` Code: 0x20`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LdapHealthIndicator, LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { createTestApp, logsOf } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { openLdapEnv, serviceAccountEnv } from './support/env.js';
import { testServers } from './support/servers.js';
import { closedPort } from './support/tcp-proxy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');

describe('a misspelt LDAP_* variable, at `npm start`', () => {
  let dir: string;
  beforeAll(() => {
    if (!existsSync(MAIN)) {
      const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'ldap-typo-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs dist/main.js until it listens (or exits), then stops it; returns what it printed. */
  function startAndStop(extra: Record<string, string>): Promise<string> {
    const env = { ...process.env };
    for (const key of Object.keys(env)) if (/^(LDAP_|DATABASE_URL$|NODE_ENV$|PORT$|HOST$)/.test(key)) delete env[key];
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        cwd: ROOT,
        env: { ...env, NO_COLOR: '1', JWT_SECRET: 'a-long-enough-secret-for-tests', ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Listening on/.test(output)) child.kill('SIGTERM');
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', () => resolve(output));
    });
  }

  it('starts, and warns once, naming the variable it probably meant', async () => {
    const output = await startAndStop({
      PORT: String(await closedPort()),
      DATABASE_URL: `sqlite:${join(dir, 'typo.sqlite')}`,
      LDAP_AUTH_SERCH_BASE: 'ou=staff,dc=example,dc=com',
      // The demo's own variable is known: no warning for it.
      LDAP_DEV_DIRECTORY_LDIF: join(ROOT, 'dev', 'directory.ldif'),
    });
    expect(output).toMatch(/Listening on/);
    const warnings = output.split('\n').filter((line) => line.includes('is not a variable this library reads'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /WARN \[LdapAuthConfig\] LDAP_AUTH_SERCH_BASE is not a variable this library reads; did you mean LDAP_AUTH_SEARCH_BASE\?/,
    );
    expect(output).not.toContain('ou=staff');
  });
});

describe('a search base the directory does not hold (real slapd)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const slapd = () => testServers().slapd;
  const appWithSearchBase = (searchBase: string) =>
    createTestApp({
      ...openLdapEnv(slapd()),
      ...serviceAccountEnv('openldap'),
      LDAP_SYNC_ENABLED: 'false',
      LDAP_AUTH_SEARCH_BASE: searchBase,
      DATABASE_URL: db.url,
    });

  it('warns, once the directory answers, that the search base is outside every naming context', async () => {
    const app = await appWithSearchBase('ou=people,dc=elsewhere,dc=org');
    try {
      // Start-up is not held up: the app runs, and the directory is up.
      expect(await app.get(LdapHealthIndicator).isUp()).toBe(true);
      const warnings = logsOf(app).filter((line) => line.startsWith('WARN') && line.includes('LDAP_AUTH_SEARCH_BASE'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('"ou=people,dc=elsewhere,dc=org" is outside every naming context');
      expect(warnings[0]).toContain(slapd().baseDn);
    } finally {
      await app.close();
    }
  });

  it('warns when the search base is within the naming context but does not exist', async () => {
    const app = await appWithSearchBase(`ou=staff,${slapd().baseDn}`);
    try {
      expect(await app.get(LdapHealthIndicator).isUp()).toBe(true);
      const warnings = logsOf(app).filter((line) => line.startsWith('WARN') && line.includes('LDAP_AUTH_SEARCH_BASE'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/"ou=staff,.*" does not exist .*noSuchObject \(32\)/);
    } finally {
      await app.close();
    }
  });

  it('says nothing about a search base that is right', async () => {
    const app = await appWithSearchBase(slapd().peopleDn);
    try {
      expect(await app.get(LdapHealthIndicator).isUp()).toBe(true);
      expect(logsOf(app).filter((line) => line.includes('LDAP_AUTH_SEARCH_BASE'))).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it("aborts the sync with the result code in words (noSuchObject), not ldapts's Code: 0x20", async () => {
    const app = await appWithSearchBase(`ou=staff,${slapd().baseDn}`);
    try {
      const report = await app.get(LdapSyncService).run();
      expect(report.status).toBe('aborted');
      expect(report.reason).toContain('noSuchObject (32)');
      expect(report.reason).not.toContain('0x20');
    } finally {
      await app.close();
    }
  });
});
