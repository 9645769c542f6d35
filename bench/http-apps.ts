/**
 * The HTTP end-to-end scenario: a real app in a child process (so its CPU is measured apart) on 127.0.0.1,
 * driven with `POST /auth/login` on keep-alive connections. Two apps: the demo app (`dist/main.js`, built
 * first if stale, exactly as `npm start` runs it) and bench/passport-app.ts.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, logTail, stopProcess, waitForPorts, type ServerProcess } from '../test/support/servers.js';
import type { SlapdInfo } from '../test/support/slapd.js';
import { databaseServerOf, type LoginImplementation, type Outcome } from './logins.js';

/** This file runs compiled, from dist/bench/bench/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PASSPORT_APP = fileURLToPath(new URL('./passport-app.js', import.meta.url));
const APP_PROFILER = fileURLToPath(new URL('./app-profiler.js', import.meta.url));
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret';
export const BENCH_ORGANISATION_ID = 1;

export interface HttpAppOptions {
  slapd: SlapdInfo;
  databaseUrl: string;
  /** Directory for the app's log file. */
  dir: string;
  /** The groups the library mirrors (LDAP_SYNCED_GROUPS); the passport app saves every group of memberOf. */
  groupDns: string[];
  poolSize: number;
  /** More environment for the app (METRICS_ENABLED for the metrics' cost). */
  env?: Record<string, string>;
}

/** The demo app as `npm start` runs it, with its login throttle raised out of the way. */
export async function demoApp(label: string, key: string, options: HttpAppOptions): Promise<LoginImplementation> {
  // The demo app runs from its build, which `npm start` refreshes the same way.
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-if-stale.mjs')], { cwd: ROOT, stdio: 'inherit' });
  const { slapd } = options;
  return startApp(label, key, path.join(ROOT, 'dist/main.js'), options, {
    LDAP_AUTH_URL: slapd.url,
    LDAP_AUTH_SEARCH_BASE: slapd.peopleDn,
    LDAP_AUTH_POOL_SIZE: String(options.poolSize),
    LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
    LDAP_DEFAULT_ORGANISATION_ID: String(BENCH_ORGANISATION_ID),
    LDAP_SYNCED_GROUPS: options.groupDns.join(':'),
    LOGIN_THROTTLE_LIMIT: '100000000',
    ...options.env,
  });
}

/** bench/passport-app.ts: passport-ldapauth, then TypeORM save() of the user and groups, then a JWT. */
export function passportApp(label: string, key: string, options: HttpAppOptions): Promise<LoginImplementation> {
  const { slapd } = options;
  return startApp(label, key, PASSPORT_APP, options, {
    BENCH_LDAP_URL: slapd.url,
    BENCH_LDAP_SEARCH_BASE: slapd.peopleDn,
    BENCH_LDAP_BIND_DN: slapd.serviceDn,
    BENCH_LDAP_BIND_PASSWORD: slapd.servicePassword,
    BENCH_ORGANISATION_ID: String(BENCH_ORGANISATION_ID),
  });
}

async function startApp(
  label: string,
  key: string,
  script: string,
  options: HttpAppOptions,
  env: Record<string, string>,
): Promise<LoginImplementation> {
  const port = await freePort();
  const logFile = path.join(options.dir, `${key}.log`);
  const proc = spawnApp(script, logFile, {
    ...process.env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET,
    BENCH_APP_KEY: key,
    ...env,
  });
  try {
    await waitForPorts(proc, label, [port], 60_000);
  } catch (error) {
    await stopProcess(proc);
    throw error;
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  /** BENCH_APP_PROFILE: the preloaded profiler writes the app's profile so far on SIGWINCH; give it a moment. */
  const profileSoFar = async () => {
    if (!process.env.BENCH_APP_PROFILE) return;
    process.kill(proc.pid, 'SIGWINCH');
    await new Promise((resolve) => setTimeout(resolve, 3000));
  };
  return {
    name: label,
    key,
    pid: proc.pid,
    port,
    postgres: databaseServerOf(options.databaseUrl.split(':', 1)[0]),
    login: (username, password) => postLogin(agent, port, username, password),
    profileSoFar,
    async close() {
      agent.destroy();
      await profileSoFar();
      await stopProcess(proc);
      if (proc.hasExited() && !(await proc.exited).match(/^(0|SIGTERM)$/)) {
        console.error(`${label} exited with ${await proc.exited}:\n${await logTail(logFile)}`);
      }
    },
  };
}

function spawnApp(script: string, logFile: string, env: NodeJS.ProcessEnv): ServerProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // --pdeathsig: the app goes when the bench does, even if the bench is killed.
    const profiler = process.env.BENCH_APP_PROFILE ? ['--import', APP_PROFILER] : [];
    child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', process.execPath, ...profiler, script], {
      stdio: ['ignore', fd, fd],
      env,
    });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ?? String(code));
    });
    child.once('error', (error) => {
      done = true;
      resolve(`spawn error: ${error.message}`);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${script}`);
  return { pid: child.pid, logFile, exited, hasExited: () => done };
}

/** 200 with a token and the right user: 'ok'; 401: 'refused'; anything else throws. */
function postLogin(agent: http.Agent, port: number, username: string, password: string): Promise<Outcome> {
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode === 401) return resolve('refused');
          if (response.statusCode !== 200)
            return reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`));
          const result = JSON.parse(text) as { accessToken?: unknown; user?: { username?: unknown } };
          resolve(typeof result.accessToken === 'string' && result.user?.username === username ? 'ok' : 'refused');
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
