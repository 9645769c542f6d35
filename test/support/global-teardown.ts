/**
 * Jest globalTeardown of the 'e2e' project: stops the servers global-setup.ts started and removes their dirs
 * and test/.run/servers.json. Node built-ins only (see global-setup.ts for why).
 */
import { readdir, readFile, readlink, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { RunningServers } from './global-setup.js';

const HANDLES_KEY = Symbol.for('ldap-e2e.handles');
const SERVERS_FILE = fileURLToPath(new URL('../.run/servers.json', import.meta.url));

export default async function globalTeardown(): Promise<void> {
  try {
    await stopServers();
  } finally {
    // Imported here, not statically: Node's loader runs this file without the TypeScript hooks for its imports.
    const { releaseRunLock } = await import('./run-lock.js');
    await releaseRunLock();
  }
}

async function stopServers(): Promise<void> {
  const g = globalThis as { [HANDLES_KEY]?: RunningServers };
  const running = g[HANDLES_KEY];
  delete g[HANDLES_KEY];
  if (running) {
    const results = await Promise.allSettled([running.slapd.stop(), running.samba.stop()]);
    await rm(SERVERS_FILE, { force: true });
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length > 0) throw new Error(`stopping the e2e directory servers failed: ${failed.join('; ')}`);
    return;
  }
  // No live handles (should not happen: Jest runs setup and teardown in one process). Fall back to the file,
  // ending only processes that still run from the recorded dirs.
  const text = await readFile(SERVERS_FILE, 'utf8').catch(() => undefined);
  if (!text) return;
  for (const server of Object.values(JSON.parse(text) as Record<string, { pid: number; dir: string }>)) {
    if (server.dir && (await holdsFilesIn(server.pid, server.dir))) process.kill(server.pid, 'SIGTERM');
    if (server.dir) await rm(server.dir, { recursive: true, force: true });
  }
  await rm(SERVERS_FILE, { force: true });
}

/** Whether pid has a file open under dir (command lines do not tell: Samba rewrites its own). */
async function holdsFilesIn(pid: number, dir: string): Promise<boolean> {
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')).startsWith(`${dir}/`)) return true;
  }
  return false;
}
