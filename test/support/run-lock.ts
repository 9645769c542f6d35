/**
 * One e2e run at a time on a machine: Samba AD must listen on 127.0.0.1:389/636, so two runs (two checkouts, a
 * developer's and CI's) would fight over those ports and end each other's Samba. The lock is a directory holding
 * the owner's pid; one whose owner is gone (a run killed hard) is taken over. Node built-ins only (see
 * global-setup.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const LOCK_DIR = path.join(os.tmpdir(), 'ldap-e2e-run.lock');
const OWNER_FILE = path.join(LOCK_DIR, 'pid');

export async function acquireRunLock(log: (line: string) => void): Promise<void> {
  let waiting = false;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      await writeFile(OWNER_FILE, String(process.pid));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(await readFile(OWNER_FILE, 'utf8').catch(() => ''));
    if (owner === process.pid) return;
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (!waiting) log(`another e2e run (pid ${owner || '?'}) holds ${LOCK_DIR}: waiting for it to end`);
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

export async function releaseRunLock(): Promise<void> {
  const owner = Number(await readFile(OWNER_FILE, 'utf8').catch(() => ''));
  if (owner === process.pid) await rm(LOCK_DIR, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
