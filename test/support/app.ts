import { Agent } from 'node:http';
import { ConsoleLogger, type INestApplication, type LogLevel, type ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { LdapHealthIndicator } from '@nest-ldap-auth/ldap-auth';
import { AppModule } from '../../src/app.module.js';

/**
 * Boots the demo app (exactly as `npm start` does, minus the port) with the given environment. Variables
 * are read while the app initialises, so the process environment is swapped for that time only.
 */
export async function createTestApp(
  env: Record<string, string | undefined>,
  options: { imports?: ModuleMetadata['imports'] } = {},
): Promise<INestApplication> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) {
    if (
      key.startsWith('LDAP_') ||
      [
        'DATABASE_URL',
        'JWT_SECRET',
        'NODE_ENV',
        'PORT',
        'LOGIN_THROTTLE_LIMIT',
        'LOGIN_THROTTLE_TTL',
        'LOGIN_THROTTLE_CLIENT_LIMIT',
        'LOGIN_THROTTLE_ACCOUNT_LIMIT',
        'LOGIN_THROTTLE_ACCOUNT_TTL',
        'LOGIN_THROTTLE_REDIS_URL',
        'LOGIN_THROTTLE_MAX_KEYS',
        'LOGIN_THROTTLE_KEY_PREFIX',
        'METRICS_ENABLED',
      ].includes(key)
    )
      delete process.env[key];
  }
  // Suites log the same users in many times on purpose; the throttle has its own test. A delta every minute
  // would change a long suite's tables under it: the delta sync's own suites turn it on.
  Object.assign(
    process.env,
    {
      JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret',
      LDAP_SYNC_DELTA_INTERVAL: '0',
      LOGIN_THROTTLE_LIMIT: '100000',
      LOGIN_THROTTLE_CLIENT_LIMIT: '100000',
      LOGIN_THROTTLE_ACCOUNT_LIMIT: '100000',
    },
    withoutUndefined(env),
  );
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule, ...(options.imports ?? [])] }).compile();
    const logs: string[] = [];
    const app = moduleRef.createNestApplication({ logger: new CapturingLogger(logs) });
    capturedLogs.set(app, logs);
    await app.init();
    // The library probes the directory in the background as the app starts: settled here, so its connection
    // and its log lines come before anything the test does.
    await app.get(LdapHealthIndicator).state();
    return app;
  } finally {
    process.env = saved;
  }
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

const capturedLogs = new WeakMap<INestApplication, string[]>();

/** Everything the app logged, one line per message ("LEVEL [Context] message"). */
export function logsOf(app: INestApplication): string[] {
  return capturedLogs.get(app) ?? [];
}

/** Keeps the app's log lines for assertions; prints them too when E2E_LOGS is set. */
class CapturingLogger extends ConsoleLogger {
  constructor(private readonly lines: string[]) {
    super();
  }

  protected override printMessages(messages: unknown[], context = '', logLevel: LogLevel = 'log'): void {
    for (const message of messages) this.lines.push(`${logLevel.toUpperCase()} [${context}] ${String(message)}`);
    if (process.env.E2E_LOGS) super.printMessages(messages, context, logLevel);
  }

  // A stack trace is printed after its message: kept line by line, as a log reader would see it.
  protected override printStackTrace(stack: string): void {
    if (stack) this.lines.push(...stack.split('\n'));
    if (process.env.E2E_LOGS) super.printStackTrace(stack);
  }
}

/** Runs SQL on the app's database (for assertions on what was stored). */
export function appDataSource(app: INestApplication): DataSource {
  return app.get(DataSource);
}

/** `POST /auth/login` on the app, as a client would send it. */
export function postLogin(app: INestApplication, username: unknown, password: unknown) {
  return request(app.getHttpServer()).post('/auth/login').send({ username, password });
}

/**
 * `POST /auth/login` from another client address: the whole of 127.0.0.0/8 is local on Linux, so the request
 * leaves from `address` and the app (which trusts no proxy header) sees that client.
 */
export function postLoginFrom(app: INestApplication, address: string, username: unknown, password: unknown) {
  return request(app.getHttpServer())
    .post('/auth/login')
    .agent(new Agent({ localAddress: address }))
    .send({ username, password });
}
