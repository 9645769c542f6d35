/**
 * The slapd binary, run the one way: the e2e harness's server (slapd.ts) and the sync benchmark's own
 * (bench/sync-directory.ts) start through launchSlapd; both benchmarks report slapdVersion.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { spawnServer, stopProcess, waitForPorts, type ServerProcess } from './servers.js';

export const SLAPD_BINARY = '/usr/sbin/slapd';

/** One address slapd listens on, always on 127.0.0.1. */
export interface SlapdListener {
  scheme: 'ldap' | 'ldaps';
  port: number;
}

/**
 * slapd in the foreground with `confFile`, its output appended to `logFile`. Resolves once every listener
 * accepts connections; stops slapd again (and rejects, with its log) if that takes longer than `timeoutMs`.
 */
export async function launchSlapd(
  confFile: string,
  listeners: SlapdListener[],
  logFile: string,
  timeoutMs: number,
): Promise<ServerProcess> {
  const urls = listeners.map((l) => `${l.scheme}://127.0.0.1:${l.port}/`).join(' ');
  // -d keeps slapd in the foreground. Not "-d 0": that also hides startup errors (bad config, port in use);
  // "none" prints just those.
  const proc = spawnServer(SLAPD_BINARY, ['-f', confFile, '-h', urls, '-d', 'none'], logFile);
  const ports = listeners.map((l) => l.port);
  await waitForPorts(proc, 'slapd', ports, timeoutMs).catch(async (err: unknown) => {
    await stopProcess(proc);
    throw err;
  });
  return proc;
}

/** "slapd 2.5.13", or "slapd (unknown version)": for the benchmarks' reports and cache keys. */
export async function slapdVersion(): Promise<string> {
  // Prints its version on stderr and exits 0.
  const output = await promisify(execFile)(SLAPD_BINARY, ['-VV']).then(
    ({ stdout, stderr }) => stdout + stderr,
    () => '',
  );
  return /slapd\s+[\d.]+/.exec(output)?.[0] ?? 'slapd (unknown version)';
}
