import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { inspect } from 'node:util';
import { LdapLoginService } from '@nest-ldap-auth/ldap-auth';
import { createTestApp, logsOf, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv, directoryInfo, DIRECTORY_KINDS, type DirectoryKind } from './support/env.js';
import { fixtureUser, SERVICE_ACCOUNT } from './support/fixtures.js';
import { startRecordingProxy, type RecordingProxy } from './support/tcp-proxy.js';

/**
 * Failed logins of every kind, on both directories: no password (the user's, a wrong one, the service
 * account's) may show up in anything the app prints, nor anywhere in the error the login service throws.
 */

const alice = fixtureUser('alice');
const WRONG_PASSWORD = 'Wrong-9f2c-Secret';
const WRONG_SERVICE_PASSWORD = 'Sync-Wrong-4d7e-Secret';
/** Every password this file hands to the app or the directory. */
const SECRETS = [alice.password, WRONG_PASSWORD, WRONG_SERVICE_PASSWORD, SERVICE_ACCOUNT.password];

/** Where a secret appears in `value`, following every own property (enumerable or not) and `cause`. */
function secretPaths(root: unknown, secrets: readonly string[]): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, at: string, depth: number): void => {
    if (typeof value === 'string') {
      for (const secret of secrets) if (value.includes(secret)) found.push(`${at} holds ${JSON.stringify(secret)}`);
      return;
    }
    if (value instanceof Uint8Array) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      for (const secret of secrets) {
        // UTF-8 as an LDAP bind carries it; UTF-16LE as AD's unicodePwd does.
        if (bytes.includes(Buffer.from(secret, 'utf8')) || bytes.includes(Buffer.from(secret, 'utf16le'))) {
          found.push(`${at} (bytes) holds ${JSON.stringify(secret)}`);
        }
      }
      return;
    }
    if (value === null || typeof value !== 'object' || seen.has(value) || depth > 12) return;
    seen.add(value);
    for (const key of [...Object.getOwnPropertyNames(value), ...Object.getOwnPropertySymbols(value)]) {
      let child: unknown;
      try {
        child = (value as Record<string | symbol, unknown>)[key];
      } catch {
        continue; // a getter that throws holds nothing we could print
      }
      visit(child, `${at}.${String(key)}`, depth + 1);
    }
  };
  visit(root, 'error', 0);
  return found;
}

/** JSON of anything, cycles cut. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object') {
      if (seen.has(v)) return '[cycle]';
      seen.add(v);
    }
    return v instanceof Error ? { ...v, name: v.name, message: v.message, stack: v.stack, cause: v.cause } : v;
  });
}

/** The error and its cause chain in every printed form a logger or a client could produce. */
function printedForms(error: unknown): string[] {
  const chain: unknown[] = [];
  for (
    let e = error;
    e !== undefined && e !== null && chain.length < 10;
    e = e instanceof Error ? e.cause : undefined
  ) {
    chain.push(e);
  }
  return chain.flatMap((e) => [
    safeJson(e),
    inspect(e),
    inspect(e, { depth: 8, showHidden: true }),
    ...(e instanceof Error ? [e.toString(), e.message, e.stack ?? ''] : []),
  ]);
}

/**
 * Everything printed while a scenario runs: stdout, stderr and console. Swallowed rather than shown, and the
 * app's logger is told to print too (E2E_LOGS), so Nest's own formatting (stack traces included) is captured.
 */
class OutputCapture {
  readonly chunks: string[] = [];
  private restore: Array<() => void> = [];

  start(): void {
    const { stdout, stderr } = process;
    for (const stream of [stdout, stderr]) {
      const original = stream.write.bind(stream);
      stream.write = (chunk: string | Uint8Array) => {
        this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      };
      this.restore.push(() => (stream.write = original));
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => void this.chunks.push(args.map((a) => inspect(a)).join(' '));
      this.restore.push(() => (console[method] = original));
    }
    const logsFlag = process.env.E2E_LOGS;
    process.env.E2E_LOGS = '1';
    this.restore.push(() => {
      if (logsFlag === undefined) delete process.env.E2E_LOGS;
      else process.env.E2E_LOGS = logsFlag;
    });
  }

  stop(): void {
    for (const undo of this.restore.splice(0).reverse()) undo();
  }
}

interface Scenario {
  title: string;
  /** Environment on top of the directory's. */
  env: (kind: DirectoryKind, proxy?: RecordingProxy) => Record<string, string | undefined>;
  password: string;
  status: number;
  kinds: DirectoryKind[];
  blackHole?: boolean;
}

const searchMode = (kind: DirectoryKind, servicePassword: string) => {
  const info = directoryInfo(kind);
  return {
    LDAP_AUTH_LOGIN_MODE: 'search',
    LDAP_SYNC_USER_USERNAME: info.kind === 'slapd' ? info.serviceDn : SERVICE_ACCOUNT.username,
    LDAP_SYNC_USER_PASSWORD: servicePassword,
  };
};

const SCENARIOS: Scenario[] = [
  { title: 'a wrong password', env: () => ({}), password: WRONG_PASSWORD, status: 401, kinds: DIRECTORY_KINDS },
  {
    title: 'a wrong password in search login mode',
    env: (kind) => searchMode(kind, directoryInfo(kind).servicePassword),
    password: WRONG_PASSWORD,
    status: 401,
    kinds: DIRECTORY_KINDS,
  },
  {
    title: 'a server that accepts connections and never answers',
    // The same scheme as the real server: on AD the TLS handshake is what hangs.
    env: (kind, proxy) => ({
      LDAP_AUTH_URL: `${kind === 'ad' ? 'ldaps' : 'ldap'}://127.0.0.1:${proxy!.port}`,
      LDAP_AUTH_CONNECT_TIMEOUT: '0.5',
      LDAP_AUTH_RECEIVE_TIMEOUT: '0.5',
    }),
    password: alice.password,
    status: 503,
    kinds: DIRECTORY_KINDS,
    blackHole: true,
  },
  {
    title: 'a certificate that is not trusted',
    // slapd: StartTLS with no CA file; Samba: LDAPS with no CA file.
    env: (kind) => (kind === 'openldap' ? { LDAP_AUTH_USE_TLS: 'true' } : { LDAP_AUTH_TLS_CA_FILE: undefined }),
    password: alice.password,
    status: 503,
    kinds: DIRECTORY_KINDS,
  },
  {
    title: 'a service account the directory refuses',
    env: (kind) => searchMode(kind, WRONG_SERVICE_PASSWORD),
    password: alice.password,
    status: 503,
    kinds: DIRECTORY_KINDS,
  },
];

describe('no password in any log or error', () => {
  let db: TestDatabase;
  let app: INestApplication | undefined;
  let proxy: RecordingProxy | undefined;
  const capture = new OutputCapture();
  /** All output of the file, for the last check. */
  const everything: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    capture.stop();
    if (app) everything.push(...logsOf(app));
    await app?.close();
    app = undefined;
    await proxy?.close();
    proxy = undefined;
    everything.push(...capture.chunks.splice(0));
  });
  afterAll(async () => {
    await db?.drop();
  });

  const cases = SCENARIOS.flatMap((s) => s.kinds.map((kind) => [s.title, kind, s] as const));

  it.each(cases)('%s (%s)', async (_title, kind, scenario) => {
    if (scenario.blackHole) proxy = await startRecordingProxy(0, 'blackHole');
    capture.start();
    app = await createTestApp({ ...directoryEnv(kind), DATABASE_URL: db.url, ...scenario.env(kind, proxy) });

    const res = await postLogin(app, 'alice', scenario.password);
    const thrown = await app
      .get(LdapLoginService)
      .login('alice', scenario.password)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    capture.stop();

    expect(res.status).toBe(scenario.status);
    expect(thrown).toBeInstanceOf(Error);
    // The failure really went through the path named in the title, and was logged.
    const logs = logsOf(app);
    expect(logs.join('\n')).toMatch(scenario.status === 401 ? /Login refused for "alice"/ : /Login failed for "alice"/);

    // The capture works: the app's own printing of that line went through it.
    expect(capture.chunks.join('')).toContain('Login ');

    const printed = [...logs, ...capture.chunks, JSON.stringify(res.body)].join('\n');
    for (const secret of SECRETS) expect(printed).not.toContain(secret);
    expect(secretPaths(thrown, SECRETS)).toEqual([]);
    for (const form of printedForms(thrown)) for (const secret of SECRETS) expect(form).not.toContain(secret);
  });

  it('has checks that do find a password where one is hidden', () => {
    const secret = WRONG_PASSWORD;
    const planted = new Error('outer', {
      cause: Object.assign(new Error('inner'), { request: { credentials: Buffer.from(secret, 'utf16le') } }),
    });
    expect(secretPaths(planted, SECRETS)).toEqual([`error.cause.request.credentials (bytes) holds "${secret}"`]);
    const quiet = new Error('outer', { cause: Object.assign(new Error('inner'), { detail: `pw=${secret}` }) });
    Object.defineProperty(quiet.cause, 'detail', { enumerable: false });
    expect(secretPaths(quiet, SECRETS)).toEqual([`error.cause.detail holds "${secret}"`]);
    expect(printedForms(quiet).some((form) => form.includes(secret))).toBe(true);
  });

  it('printed none of the passwords anywhere in this file', () => {
    expect(everything.length).toBeGreaterThan(0);
    const all = everything.join('\n');
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});
