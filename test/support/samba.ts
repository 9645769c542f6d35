/**
 * A throwaway Samba Active Directory domain controller (EXAMPLE.TEST) on 127.0.0.1:389/636, seeded with
 * fixtures.ts. Follows the recipe in shared docs real-directories.md.
 *
 * Provisioning costs ~10 s, so a provisioned, seeded template (with the TLS certificate Samba generates on its
 * first start) is kept under os.tmpdir(), keyed on the inputs that shape it, and copied for each run: a run
 * always starts from the pristine fixtures. Samba always listens on 389/636, so only one instance can run on a
 * machine at a time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, readlink, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Attribute } from 'ldapts';
import { AD_BULK, SERVICE_ACCOUNT } from './fixtures.js';
import { adminClient, adPassword, seedFixtures } from './directory-admin.js';
import { logTail, portOpen, spawnServer, stopProcess, waitForPorts, type ServerProcess } from './servers.js';

const run = promisify(execFile);

const BASE_DN = 'DC=example,DC=test';
const ADMIN_PASSWORD = 'Admin-pass1';
/** Records the pid and dir of the Samba this harness started, so a leftover one can be recognised and ended. */
const PID_FILE = path.join(os.tmpdir(), 'ldap-e2e-samba.pid');
const DIR_PREFIX = 'ldap-e2e-samba-';
const TEMPLATE_PREFIX = `${DIR_PREFIX}template-`;
/** Passwords expire after 42 days on a default domain: rebuild the template long before that. */
const TEMPLATE_MAX_AGE_MS = 24 * 3600 * 1000;

/** Plain data about the running Samba AD (what global setup writes to test/.run/servers.json). */
export interface SambaInfo {
  kind: 'samba';
  /** ldaps://127.0.0.1:636: simple binds need TLS (ldap server require strong auth is left at its default). */
  url: string;
  /** ldap://127.0.0.1:389: simple binds fail here with "Transport encryption required" (code 8). */
  plainUrl: string;
  /** PEM of the CA Samba generated; its certificate names DC1.example.test, so pass servername. */
  caFile: string;
  servername: string;
  /** NetBIOS domain: log in as EXAMPLE\alice. */
  domain: string;
  /** DNS domain: log in as alice@example.test. */
  realm: string;
  baseDn: string;
  /** Users are CN=<username>,usersDn. */
  usersDn: string;
  /** Groups (global security groups) are CN=<cn>,groupsDn. */
  groupsDn: string;
  adminUser: string;
  adminDn: string;
  adminPassword: string;
  /** The sync account, an ordinary domain user. */
  serviceDn: string;
  serviceUser: string;
  servicePassword: string;
  dir: string;
  pid: number;
}

export interface SambaHandle extends SambaInfo {
  /** Stops Samba and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops Samba (keeping its data) and starts it again; updates pid. */
  restart(): Promise<void>;
}

function sambaInfo(dir: string): SambaInfo {
  const usersDn = `CN=Users,${BASE_DN}`;
  return {
    kind: 'samba',
    url: 'ldaps://127.0.0.1:636',
    plainUrl: 'ldap://127.0.0.1:389',
    caFile: path.join(dir, 'private', 'tls', 'ca.pem'),
    servername: 'DC1.example.test',
    domain: 'EXAMPLE',
    realm: 'example.test',
    baseDn: BASE_DN,
    usersDn,
    groupsDn: `OU=Groups,${BASE_DN}`,
    adminUser: 'Administrator',
    adminDn: `CN=Administrator,${usersDn}`,
    adminPassword: ADMIN_PASSWORD,
    serviceDn: `CN=${SERVICE_ACCOUNT.username},${usersDn}`,
    serviceUser: SERVICE_ACCOUNT.username,
    servicePassword: SERVICE_ACCOUNT.password,
    dir,
    pid: 0,
  };
}

/** Starts Samba AD from a fresh copy of the seeded template (built first if missing or stale). */
export async function startSambaAd(): Promise<SambaHandle> {
  await endLeftoverSamba();
  const template = await ensureTemplate();
  const dir = await mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  await copyTemplate(template, dir);
  const info = sambaInfo(dir);
  let proc = await launch(dir).catch(async (err: unknown) => {
    // Rebuild the template next time in case it is what is broken; keep this dir for its samba.log.
    await rm(template, { recursive: true, force: true });
    throw err;
  });
  info.pid = proc.pid;

  let stopped = false;
  const handle: SambaHandle = {
    ...info,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopSamba(proc);
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('samba was stopped for good');
      await stopSamba(proc);
      proc = await launch(dir);
      handle.pid = proc.pid;
    },
  };
  return handle;
}

async function launch(dir: string): Promise<ServerProcess> {
  const proc = spawnServer(
    '/usr/sbin/samba',
    ['-s', path.join(dir, 'etc', 'smb.conf'), '-i', '-M', 'single'],
    path.join(dir, 'samba.log'),
  );
  await writeFile(PID_FILE, `${proc.pid}\n${dir}\n`);
  try {
    await waitForPorts(proc, 'samba', [389, 636], 30_000);
    await waitForAdminBind(dir, proc);
  } catch (err) {
    await stopSamba(proc);
    throw err;
  }
  return proc;
}

/** The ports open a moment before the directory answers binds: wait for a real bind. */
async function waitForAdminBind(dir: string, proc: ServerProcess): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const client = await adminClient(sambaInfo(dir));
      await client.unbind();
      return;
    } catch (err) {
      if (Date.now() > deadline || proc.hasExited()) {
        throw new Error(
          `samba does not accept the admin bind: ${String(err)}\nlog ${proc.logFile}:\n${await logTail(proc.logFile)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopSamba(proc: ServerProcess): Promise<void> {
  await stopProcess(proc, 10_000);
  const recorded = await readFile(PID_FILE, 'utf8').catch(() => '');
  if (recorded.split('\n')[0] === String(proc.pid)) await unlink(PID_FILE).catch(() => undefined);
}

/**
 * A Samba left by an earlier run of this harness (Jest killed hard) would hold 389/636. End it, but only if
 * the recorded pid still is a samba running from one of our dirs; never touch anything else.
 */
async function endLeftoverSamba(): Promise<void> {
  const [pidText, dir] = (await readFile(PID_FILE, 'utf8').catch(() => '')).split('\n');
  const pid = Number(pidText);
  if (Number.isInteger(pid) && pid > 0) {
    if (dir && (await isSambaRunningFrom(pid, dir))) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    if (
      dir?.startsWith(path.join(os.tmpdir(), DIR_PREFIX)) &&
      !dir.startsWith(path.join(os.tmpdir(), TEMPLATE_PREFIX))
    ) {
      await rm(dir, { recursive: true, force: true });
    }
    await unlink(PID_FILE).catch(() => undefined);
  }
  for (const port of [389, 636]) {
    if (await portOpen(port)) {
      throw new Error(
        `port ${port} on 127.0.0.1 is taken by a process this harness did not start (see ss -ltnp); Samba AD needs it`,
      );
    }
  }
}

/** Samba rewrites its command line, so recognise it by its binary and the files it holds open in dir. */
async function isSambaRunningFrom(pid: number, dir: string): Promise<boolean> {
  if (!dir.startsWith(path.join(os.tmpdir(), DIR_PREFIX))) return false;
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => '');
  if (path.basename(exe) !== 'samba') return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
  for (const fd of fds) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')).startsWith(`${dir}/`)) return true;
  }
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The template dir for the current inputs, built when missing or older than TEMPLATE_MAX_AGE_MS. */
async function ensureTemplate(): Promise<string> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const hash = createHash('sha256');
  for (const file of ['fixtures.ts', 'samba.ts', 'directory-admin.ts'])
    hash.update(await readFile(path.join(here, file)));
  hash.update((await run('/usr/sbin/samba', ['-V'])).stdout);
  const templateDir = path.join(os.tmpdir(), `${TEMPLATE_PREFIX}${hash.digest('hex').slice(0, 16)}`);

  const built = await stat(path.join(templateDir, 'template.json')).catch(() => undefined);
  if (built && Date.now() - built.mtimeMs < TEMPLATE_MAX_AGE_MS) return templateDir;
  await rm(templateDir, { recursive: true, force: true });

  // Templates of other inputs are dead weight (~35 MB each).
  for (const name of await readdir(os.tmpdir())) {
    if (name.startsWith(TEMPLATE_PREFIX)) await rm(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
  const buildDir = await mkdtemp(path.join(os.tmpdir(), `${DIR_PREFIX}build-`));
  try {
    await provision(buildDir);
    // The first start generates the TLS certificate; seed while it runs.
    const proc = await launch(buildDir);
    try {
      await seed(sambaInfo(buildDir));
    } catch (err) {
      throw new Error(`seeding Samba failed: ${String(err)}\nlog ${proc.logFile}:\n${await logTail(proc.logFile)}`);
    } finally {
      await stopSamba(proc);
    }
    // Runtime leftovers a copy must not carry: sockets (fs.cp cannot copy them), the pid file, the log.
    for (const leftover of ['private/ldapi', 'private/ldap_priv/ldapi', 'run/samba.pid', 'samba.log']) {
      await rm(path.join(buildDir, leftover), { force: true });
    }
    await writeFile(path.join(buildDir, 'template.json'), JSON.stringify({ origin: buildDir }));
    await rename(buildDir, templateDir);
  } catch (err) {
    await rm(buildDir, { recursive: true, force: true });
    throw err;
  }
  return templateDir;
}

async function provision(dir: string): Promise<void> {
  try {
    await run(
      'samba-tool',
      [
        'domain',
        'provision',
        '--realm=EXAMPLE.TEST',
        '--domain=EXAMPLE',
        '--server-role=dc',
        '--dns-backend=NONE',
        `--adminpass=${ADMIN_PASSWORD}`,
        '--host-name=dc1',
        `--targetdir=${dir}`,
        // 127.0.0.1 rather than lo: lo would also listen on ::1.
        '--option=interfaces=127.0.0.1',
        '--option=bind interfaces only=yes',
        // The LDAP server alone serves ldap and ldaps, which is all the tests use.
        '--option=server services=ldap',
        `--option=pid directory=${path.join(dir, 'run')}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`samba-tool domain provision failed: ${String(err)}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** smb.conf is the only file holding the template's absolute path (checked on 4.17). */
async function copyTemplate(template: string, dir: string): Promise<void> {
  const { origin } = JSON.parse(await readFile(path.join(template, 'template.json'), 'utf8')) as { origin: string };
  await cp(template, dir, { recursive: true });
  const conf = path.join(dir, 'etc', 'smb.conf');
  await writeFile(conf, (await readFile(conf, 'utf8')).replaceAll(origin, dir));
}

async function seed(info: SambaInfo): Promise<void> {
  const client = await adminClient(info);
  try {
    await client.add(info.groupsDn, { objectClass: ['top', 'organizationalUnit'], ou: 'Groups' });
    await client.add(info.serviceDn, [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [SERVICE_ACCOUNT.username] }),
      new Attribute({ type: 'userPrincipalName', values: [`${SERVICE_ACCOUNT.username}@${info.realm}`] }),
      new Attribute({ type: 'unicodePwd', values: [adPassword(info.servicePassword)] }),
      // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD, as service accounts usually are.
      new Attribute({ type: 'userAccountControl', values: [String(0x200 | 0x10000)] }),
    ]);
  } finally {
    await client.unbind().catch(() => undefined);
  }
  await seedFixtures(info);
  await seedBulk(info);
}

/** OU=Bulk with AD_BULK.users users and the group holding them all (see fixtures.ts). */
async function seedBulk(info: SambaInfo): Promise<void> {
  const ou = `OU=${AD_BULK.ou},${info.baseDn}`;
  const client = await adminClient(info);
  try {
    await client.add(ou, { objectClass: ['top', 'organizationalUnit'], ou: AD_BULK.ou });
    const dns: string[] = [];
    for (let i = 0; i < AD_BULK.users; i += 25) {
      const batch = Array.from({ length: Math.min(25, AD_BULK.users - i) }, (_, j) => {
        const name = `${AD_BULK.prefix}${String(i + j).padStart(4, '0')}`;
        const dn = `CN=${name},${ou}`;
        dns.push(dn);
        return client.add(dn, [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'sAMAccountName', values: [name] }),
          // ACCOUNTDISABLE | NORMAL_ACCOUNT: no password needed (hashing one is what makes users slow to add).
          new Attribute({ type: 'userAccountControl', values: [String(0x202)] }),
        ]);
      });
      await Promise.all(batch);
    }
    await client.add(`CN=${AD_BULK.group},${info.groupsDn}`, {
      objectClass: ['top', 'group'],
      cn: AD_BULK.group,
      sAMAccountName: AD_BULK.group,
      groupType: String(0x2 - 0x80000000),
      member: dns,
    });
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
