/**
 * The demo as `npm start` runs it: dist/main.js in a child process, with the embedded development directory
 * (no LDAP_AUTH_URL) and a scratch SQLite database, on a free port of 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from './tcp-proxy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');

export interface DemoProcess {
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  /** Stops the demo (SIGTERM) and removes its database. */
  stop(): Promise<void>;
}

/** Starts the demo with `env` over its defaults (the caller's LDAP_ and LOGIN_ variables left out). */
export async function startDemoProcess(env: Record<string, string> = {}): Promise<DemoProcess> {
  if (!existsSync(MAIN)) {
    const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'ldap-demo-'));
  const port = await closedPort();
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) {
    if (key.startsWith('LDAP_') || key.startsWith('LOGIN_')) delete childEnv[key];
  }
  Object.assign(childEnv, {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'development',
    JWT_SECRET: 'a-long-enough-secret-for-tests',
    DATABASE_URL: `sqlite:${join(dir, 'app.sqlite')}`,
    ...env,
  });
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/Listening on/.test(output)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', () => reject(new Error(`the demo exited:\n${output}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `http://127.0.0.1:${port}`, stop };
}

/** POST /auth/login with a JSON body sent in chunks (Transfer-Encoding: chunked, no Content-Length). */
export function postChunked(port: number, body: string): Promise<{ status: number; body: { message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/auth/login', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { message?: string } }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the connection while the rest of a refused body is still being sent.
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    for (let at = 0; at < body.length; at += 4096) req.write(body.slice(at, at + 4096));
    req.end();
  });
}
