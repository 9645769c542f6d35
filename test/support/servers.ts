/**
 * Shared parts of the real-directory harness: where the e2e globalSetup leaves the servers' details for spec
 * files, and the child-process plumbing that slapd.ts and samba.ts both use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { SambaInfo } from './samba.js';
import type { SlapdInfo } from './slapd.js';

export type { SambaInfo } from './samba.js';
export type { SlapdInfo } from './slapd.js';

export interface TestServers {
  slapd: SlapdInfo;
  samba: SambaInfo;
}

/** Written by global-setup.ts, removed by global-teardown.ts (test/.run is gitignored). */
export const SERVERS_FILE = fileURLToPath(new URL('../.run/servers.json', import.meta.url));

/** The servers the e2e globalSetup started for this run. */
export function testServers(): TestServers {
  let text: string;
  try {
    text = readFileSync(SERVERS_FILE, 'utf8');
  } catch {
    throw new Error(
      `${SERVERS_FILE} is missing: run e2e specs through Jest's 'e2e' project, whose globalSetup starts the servers`,
    );
  }
  return JSON.parse(text) as TestServers;
}

// ---- child-process plumbing (not for spec files) ----

export interface ServerProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
}

/**
 * Starts a server in the foreground, appending its output to logFile.
 * setpriv --pdeathsig makes the kernel send SIGTERM to the server when the process that started it dies
 * (Jest killed or interrupted before its globalTeardown), so no server outlives its test run. setpriv execs
 * the server, so the pid is the server's own.
 */
export function spawnServer(command: string, args: string[], logFile: string): ServerProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', command, ...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(signal ?? String(code));
    });
    child.once('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
  });
  // Do not keep Jest alive because of a server; stopProcess() holds the loop open while it waits.
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command} (is setpriv installed?)`);
  return { pid: child.pid, logFile, exited, hasExited: () => done };
}

/** SIGTERM, then SIGKILL if the process is still there after timeoutMs. */
export async function stopProcess(proc: ServerProcess, timeoutMs = 5000): Promise<void> {
  if (proc.hasExited()) return;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(proc.pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  if ((await Promise.race([proc.exited, timedOut])) === 'timeout') {
    signal('SIGKILL');
    await Promise.race([proc.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
  clearTimeout(timer);
}

/** The last few KB of a log file, for error messages. */
export async function logTail(file: string, bytes = 4000): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '(no log)';
  }
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Waits until every port accepts connections; fails early, with the server's log, if it exits first. */
export async function waitForPorts(
  proc: ServerProcess,
  name: string,
  ports: number[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) {
      throw new Error(
        `${name} exited (${await proc.exited}) before listening; log ${proc.logFile}:\n${await logTail(proc.logFile)}`,
      );
    }
    const open = await Promise.all(ports.map((p) => portOpen(p)));
    if (open.every(Boolean)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${name} did not listen on ${ports.join(', ')} within ${timeoutMs} ms; log ${proc.logFile}:\n${await logTail(proc.logFile)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
