/**
 * The sync benchmark's own slapd: a generated LDIF loaded offline with slapadd (100,000 users in seconds,
 * where LDAP adds take minutes), cached between runs under os.tmpdir() keyed on everything that shapes the
 * data, then copied into a temp dir and served on free ports of 127.0.0.1. See real-directories.md for the
 * recipe; unlike the e2e harness there is no memberof or refint overlay (see slapdConf), no TLS (loopback
 * only), and `loglevel 0`.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { sshaPassword } from '../test/support/directory-admin.js';
import { freePort, logTail, stopProcess, type ServerProcess } from '../test/support/servers.js';
import { launchSlapd, slapdVersion } from '../test/support/slapd-process.js';
import {
  BASE_DN,
  DATASET_VERSION,
  GROUPS_DN,
  PEOPLE_DN,
  SERVICES_DN,
  generateDataset,
  givenName,
  mail,
  surname,
  userDn,
  username,
  type Dataset,
  type DatasetShape,
} from './sync-dataset.js';

const run = promisify(execFile);

export const SLAPADD = '/usr/sbin/slapadd';

/** Fixed credentials: the server only ever listens on 127.0.0.1 and lives for one run. */
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'Admin-pass1';
export const SERVICE_DN = `cn=sync-bench,${SERVICES_DN}`;
export const SERVICE_PASSWORD = 'Sync-bench-pass1';

const CACHE_ROOT = path.join(os.tmpdir(), 'ldap-sync-bench-cache');

/** The parts of slapd.conf that shape the stored data (indexes): part of the cache key. */
const DATA_CONFIG = `index objectClass,uid,cn,mail,member,memberOf,entryUUID eq
# syncprov's refresh from a cookie searches by entryCSN: an index slapadd must build (an unbuilt one misses entries).
index entryCSN eq
# Binary search in big groups' member values (40,000 of them) on modify, instead of a linear scan.
sortvals member`;

export interface BenchDirectory {
  url: string;
  port: number;
  baseDn: string;
  peopleDn: string;
  groupsDn: string;
  adminDn: string;
  adminPassword: string;
  /** The sync account: reads everything but passwords, without the 500-entry size limit. */
  serviceDn: string;
  servicePassword: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

export interface SeedInfo {
  /** The directory came from the cache (no slapadd this run). */
  cached: boolean;
  /** Generating the LDIF and slapadd (streamed together); for a cached directory, when it was made. */
  seedSeconds: number;
  seededAt: string;
  /** Generating the dataset in memory (every run: the bench needs it for rows and expectations). */
  generateSeconds: number;
  /** Copying the cached database into this run's temp dir (0 without the cache). */
  copySeconds: number;
  /** slapd started and listening. */
  startSeconds: number;
  cacheDir: string | null;
  dataBytes: number;
  entries: number;
}

/**
 * The dataset and a running slapd serving it. By default the LDIF is loaded with slapadd straight into this
 * run's temp dir (about 4 s at 100,000 users on 2 cores). With `cache`, the loaded database is kept under
 * os.tmpdir()/ldap-sync-bench-cache, keyed on everything that shapes it, and later runs copy it instead
 * (`fresh` rebuilds it); cache entries of other dataset versions are removed.
 */
export async function startBenchDirectory(
  shape: DatasetShape,
  options: { cache?: boolean; fresh?: boolean; log?: (line: string) => void } = {},
): Promise<{ data: Dataset; directory: BenchDirectory; seed: SeedInfo }> {
  const log = options.log ?? (() => undefined);
  let t = performance.now();
  const data = generateDataset(shape);
  const generateSeconds = (performance.now() - t) / 1000;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-sync-bench-slapd-'));
  let proc: ServerProcess | undefined;
  try {
    await mkdir(path.join(dir, 'data'));
    const confFile = path.join(dir, 'slapd.conf');
    await writeFile(confFile, slapdConf(dir));

    let meta: CacheMeta | undefined;
    let cacheDir: string | null = null;
    let cached = false;
    let copySeconds = 0;
    if (options.cache) {
      const key = createHash('sha256')
        .update(JSON.stringify({ DATASET_VERSION, shape, DATA_CONFIG, version: await slapdVersion() }))
        .digest('hex')
        .slice(0, 12);
      cacheDir = path.join(
        CACHE_ROOT,
        `v${DATASET_VERSION}-u${shape.users}-g${shape.groups}-m${shape.memberships}-${key}`,
      );
      await pruneCache(cacheDir);
      meta = options.fresh ? undefined : await readMeta(cacheDir);
      cached = meta !== undefined;
      if (!meta) {
        log(`seeding: slapadd into the cache, ${cacheDir}`);
        meta = await buildCache(data, cacheDir);
      }
      t = performance.now();
      // The "changed" scenario modifies the directory: it gets a copy. slapadd leaves data.mdb as a sparse
      // file of maxsize (16 GiB; a few hundred MB used at 100,000 users): cp keeps the holes, a plain copy would fill them in.
      await run('cp', [
        '--sparse=always',
        '--reflink=auto',
        path.join(cacheDir, 'data', 'data.mdb'),
        path.join(dir, 'data'),
      ]);
      copySeconds = (performance.now() - t) / 1000;
    } else {
      meta = await loadInto(data, confFile, path.join(dir, 'data'));
    }

    t = performance.now();
    const port = await freePort();
    proc = await launchSlapd(confFile, [{ scheme: 'ldap', port }], path.join(dir, 'slapd.log'), 20_000);
    const startSeconds = (performance.now() - t) / 1000;
    const running = proc;
    let stopped = false;
    const directory: BenchDirectory = {
      url: `ldap://127.0.0.1:${port}`,
      port,
      baseDn: BASE_DN,
      peopleDn: PEOPLE_DN,
      groupsDn: GROUPS_DN,
      adminDn: ADMIN_DN,
      adminPassword: ADMIN_PASSWORD,
      serviceDn: SERVICE_DN,
      servicePassword: SERVICE_PASSWORD,
      pid: running.pid,
      dir,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopProcess(running);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return {
      data,
      directory,
      seed: {
        cached,
        seedSeconds: meta.seedSeconds,
        seededAt: meta.createdAt,
        generateSeconds,
        copySeconds,
        startSeconds,
        cacheDir,
        dataBytes: meta.dataBytes,
        entries: meta.entries,
      },
    };
  } catch (error) {
    if (proc) await stopProcess(proc);
    const log = await logTail(path.join(dir, 'slapd.log'));
    await rm(dir, { recursive: true, force: true });
    throw new Error(`bench slapd did not start: ${String(error)}\n${log}`);
  }
}

interface CacheMeta {
  seedSeconds: number;
  dataBytes: number;
  entries: number;
  createdAt: string;
}

async function readMeta(cacheDir: string): Promise<CacheMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path.join(cacheDir, 'meta.json'), 'utf8')) as CacheMeta;
    await stat(path.join(cacheDir, 'data', 'data.mdb'));
    return meta;
  } catch {
    return undefined;
  }
}

/** Generates the LDIF and loads it with slapadd into `dataDir` (the one `confFile` names). */
async function loadInto(data: Dataset, confFile: string, dataDir: string): Promise<CacheMeta> {
  const t = performance.now();
  const entries = await slapadd(confFile, data);
  const seedSeconds = (performance.now() - t) / 1000;
  // Blocks actually used: the file is sparse (see startBenchDirectory).
  const { blocks } = await stat(path.join(dataDir, 'data.mdb'));
  return { seedSeconds, dataBytes: blocks * 512, entries, createdAt: new Date().toISOString() };
}

/** slapadd into a staging dir, renamed into place only when complete (an interrupted seed is never reused). */
async function buildCache(data: Dataset, cacheDir: string): Promise<CacheMeta> {
  await mkdir(CACHE_ROOT, { recursive: true });
  const staging = `${cacheDir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.join(staging, 'data'), { recursive: true });
  try {
    const confFile = path.join(staging, 'slapd.conf');
    await writeFile(confFile, slapdConf(staging));
    const meta = await loadInto(data, confFile, path.join(staging, 'data'));
    await writeFile(path.join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
    await rm(path.join(staging, 'data', 'lock.mdb'), { force: true });
    await rm(cacheDir, { recursive: true, force: true });
    await rename(staging, cacheDir);
    return meta;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/** Streams the LDIF into `slapadd -q` (quick mode: no consistency checks; the data is ours). */
async function slapadd(confFile: string, data: Dataset): Promise<number> {
  const child = spawn(SLAPADD, ['-q', '-f', confFile], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('exit', resolve);
    child.once('error', reject);
  });
  let entries = 0;
  const text = function* (): Generator<string> {
    for (const chunk of ldifChunks(data)) {
      entries += chunk.entries;
      yield chunk.text;
    }
  };
  const [written, code] = await Promise.allSettled([pipeline(Readable.from(text()), child.stdin), exited]);
  if (code.status === 'rejected') throw code.reason;
  if (code.value !== 0) throw new Error(`slapadd exited with ${code.value}: ${stderr.trim()}`);
  if (written.status === 'rejected') throw written.reason;
  return entries;
}

/** The whole directory as LDIF, in chunks of about a thousand entries. */
function* ldifChunks(data: Dataset): Generator<{ text: string; entries: number }> {
  const head = [
    `dn: ${BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    ...[
      [PEOPLE_DN, 'people'],
      [GROUPS_DN, 'groups'],
      [SERVICES_DN, 'services'],
    ].map(([dn, ou]) => `dn: ${dn}\nobjectClass: top\nobjectClass: organizationalUnit\nou: ${ou}\n`),
    `dn: ${SERVICE_DN}\nobjectClass: top\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n` +
      `cn: sync-bench\nuserPassword: ${sshaPassword(SERVICE_PASSWORD)}\n`,
  ];
  yield { text: head.join('\n') + '\n', entries: head.length };

  const n = data.shape.users;
  for (let from = 0; from < n; from += 1000) {
    const parts: string[] = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) {
      const name = username(i);
      const first = givenName(i);
      const last = surname(i);
      parts.push(
        `dn: ${userDn(name)}\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\n` +
          `objectClass: inetOrgPerson\nuid: ${name}\ncn: ${first} ${last}\nsn: ${last}\ngivenName: ${first}\n` +
          `mail: ${mail(name)}\nentryUUID: ${data.uuids[i]}\n`,
      );
    }
    yield { text: parts.join('\n') + '\n', entries: parts.length };
  }
  for (const group of data.groups) {
    const lines = [`dn: ${group.dn}`, 'objectClass: top', 'objectClass: groupOfNames', `cn: ${group.cn}`];
    for (const u of group.members) lines.push(`member: ${userDn(username(u))}`);
    yield { text: lines.join('\n') + '\n\n', entries: 1 };
  }
}

function slapdConf(dir: string): string {
  const f = (name: string): string => path.join(dir, name);
  return `# Generated by bench/sync-directory.ts
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema

pidfile ${f('slapd.pid')}
argsfile ${f('slapd.args')}
# Logging every operation made slapd, not the client, the ceiling.
loglevel 0
# slapadd indexes on both cores.
tool-threads 2

modulepath /usr/lib/ldap
moduleload back_mdb
# Loaded for its memberOf attribute type (indexed below); the overlay itself is not configured: slapadd
# would not run it, and the sync reads groups' member values. No refint either: it rewrites groups one
# modify per (user, group) in a background task, minutes at this size; the "changed" scenario's LDIF
# updates the groups itself (sync-dataset.ts changesLdif).
moduleload memberof
# Content synchronisation (RFC 4533) for the delta sync's bench (sync-delta.bench.ts).
moduleload syncprov

database mdb
maxsize 17179869184
suffix "${BASE_DN}"
rootdn "${ADMIN_DN}"
rootpw ${sshaPassword(ADMIN_PASSWORD)}
directory ${f('data')}

${DATA_CONFIG}
overlay syncprov
syncprov-checkpoint 100 1

access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by * read

# The default size limit (500) also caps paged searches (size.prtotal); the sync account reads everything.
limits dn.exact="${SERVICE_DN}" size=unlimited size.prtotal=unlimited time=unlimited
`;
}

/** Removes cache entries of other dataset versions and stale staging dirs. */
async function pruneCache(keep: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(CACHE_ROOT);
  } catch {
    return;
  }
  for (const name of names) {
    const full = path.join(CACHE_ROOT, name);
    const staleVersion = !name.startsWith(`v${DATASET_VERSION}-`);
    const staleStaging = name.includes('.tmp-') && !name.endsWith(`.tmp-${process.pid}`) && !pidAlive(name);
    if (full !== keep && (staleVersion || staleStaging)) await rm(full, { recursive: true, force: true });
  }
}

function pidAlive(stagingName: string): boolean {
  const pid = Number(stagingName.split('.tmp-')[1]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Applies an LDIF of changes with ldapmodify as the rootdn; returns the seconds it took. */
export async function ldapmodify(directory: BenchDirectory, ldif: string): Promise<number> {
  const file = path.join(directory.dir, `changes-${Date.now()}.ldif`);
  await writeFile(file, ldif);
  const t = performance.now();
  await run(
    'ldapmodify',
    ['-x', '-H', directory.url, '-D', directory.adminDn, '-w', directory.adminPassword, '-f', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return (performance.now() - t) / 1000;
}
