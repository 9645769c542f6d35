/**
 * A throwaway OpenLDAP server (slapd 2.5) on 127.0.0.1, seeded with fixtures.ts. See
 * shared docs real-directories.md for the recipe this follows.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SERVICE_ACCOUNT } from './fixtures.js';
import { adminClient, seedFixtures, sshaPassword } from './directory-admin.js';
import { freePort, logTail, stopProcess, type ServerProcess } from './servers.js';
import { launchSlapd } from './slapd-process.js';
import { slapdConf } from './slapd-conf.js';

const run = promisify(execFile);

const BASE_DN = 'dc=example,dc=com';
/** uid of the one entry under ou=people that an ACL hides from its own user (see the slapd.conf template). */
export const HIDDEN_SELF_UID = 'hidden-self';

/** Plain data about a running slapd (what global setup writes to test/.run/servers.json). */
export interface SlapdInfo {
  kind: 'slapd';
  /** ldap://127.0.0.1:PORT (StartTLS works here too, with caFile). */
  url: string;
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate (SAN DNS:localhost, IP:127.0.0.1). */
  caFile: string;
  baseDn: string;
  peopleDn: string;
  groupsDn: string;
  servicesDn: string;
  /** rootdn: not subject to ACLs or size limits. */
  adminDn: string;
  adminPassword: string;
  /** The sync account: may read everything but passwords, without the 500-entry size limit. */
  serviceDn: string;
  servicePassword: string;
  /**
   * groupOfNames needs at least one member: a group with no real members holds this DN (the base entry, which
   * is neither a user nor a group). Clients expanding members should ignore DNs that are neither.
   */
  emptyGroupMember: string;
  pid: number;
  /** Temp dir with config, data, certificates and slapd.log. */
  dir: string;
}

export interface SlapdHandle extends SlapdInfo {
  /** Stops slapd and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops slapd (keeping its data) and starts it again on the same ports; updates pid. */
  restart(): Promise<void>;
}

export interface SlapdOptions {
  /** Default: a free port. */
  ldapPort?: number;
  ldapsPort?: number;
  /** Add the fixtures (default true). Without it the directory holds only the base entry and the OUs. */
  seed?: boolean;
  /**
   * slapd's `loglevel` (default: slapd's own, `stats`: a line per operation). The benchmarks pass 0, so
   * slapd's logging does not become the ceiling they measure.
   */
  logLevel?: number | string;
  /**
   * Start as a replica of this running slapd: its entries are copied (slapcat, slapadd) before the launch, so
   * they keep their entryUUIDs, as with replication. Replaces the seeding.
   */
  replicaOf?: SlapdInfo;
  /**
   * `overlay` (default): the memberof overlay keeps memberOf. `schema-only`: no overlay, but the schema defines
   * memberOf (as msuser.schema does), so no entry carries it: a directory that only looks like it keeps memberOf.
   */
  memberOf?: 'overlay' | 'schema-only';
  /**
   * RFC 4533 content synchronisation (the syncprov overlay). `present` (default): no session log, so a refresh
   * with a cookie lists every unchanged entry (present phase). `sessionlog`: a session log of 10,000 writes, so
   * a refresh with a recent cookie lists the deleted entries instead (delete phase). `none`: no syncprov, a
   * server without content synchronisation.
   */
  contentSync?: 'present' | 'sessionlog' | 'none';
}

/**
 * Starts an independent slapd with its own temp dir and ports, seeded with USERS, GROUPS and the service
 * account. Tests may start their own (for example to stop it mid-test); stop it in afterAll.
 */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdHandle> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-e2e-slapd-'));
  let proc: ServerProcess | undefined;
  try {
    await mkdir(path.join(dir, 'data'));
    const [ldapPort, ldapsPort] = await Promise.all([options.ldapPort ?? freePort(), options.ldapsPort ?? freePort()]);
    const caFile = await makeCertificates(dir);
    const info: SlapdInfo = {
      kind: 'slapd',
      url: `ldap://127.0.0.1:${ldapPort}`,
      ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
      caFile,
      baseDn: BASE_DN,
      peopleDn: `ou=people,${BASE_DN}`,
      groupsDn: `ou=groups,${BASE_DN}`,
      servicesDn: `ou=services,${BASE_DN}`,
      adminDn: `cn=admin,${BASE_DN}`,
      adminPassword: 'Admin-pass1',
      serviceDn: `cn=${SERVICE_ACCOUNT.username},ou=services,${BASE_DN}`,
      servicePassword: SERVICE_ACCOUNT.password,
      emptyGroupMember: BASE_DN,
      pid: 0,
      dir,
    };
    const confFile = path.join(dir, 'slapd.conf');
    await writeFile(
      confFile,
      await slapdConf(info, HIDDEN_SELF_UID, {
        logLevel: options.logLevel,
        memberOf: options.memberOf ?? 'overlay',
        contentSync: options.contentSync ?? 'present',
      }),
    );

    const launch = (): Promise<ServerProcess> =>
      launchSlapd(
        confFile,
        [
          { scheme: 'ldap', port: ldapPort },
          { scheme: 'ldaps', port: ldapsPort },
        ],
        path.join(dir, 'slapd.log'),
        10_000,
      );
    if (options.replicaOf) await copyEntries(options.replicaOf, confFile);
    proc = await launch();
    info.pid = proc.pid;
    if (!options.replicaOf)
      await seed(info, options.seed ?? true).catch(async (err: unknown) => {
        throw new Error(`seeding slapd failed: ${String(err)}\nlog:\n${await logTail(path.join(dir, 'slapd.log'))}`);
      });

    let stopped = false;
    const handle: SlapdHandle = {
      ...info,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (proc) await stopProcess(proc);
        await rm(dir, { recursive: true, force: true });
      },
      async restart() {
        if (stopped) throw new Error('slapd was stopped for good');
        if (proc) await stopProcess(proc);
        proc = await launch();
        handle.pid = proc.pid;
      },
    };
    return handle;
  } catch (err) {
    if (proc) await stopProcess(proc);
    // Keep the dir (with slapd.log) for a look when startup failed.
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** Loads the entries of a running slapd (read consistently from its mdb) into a database not started yet. */
async function copyEntries(source: SlapdInfo, confFile: string): Promise<void> {
  const ldif = path.join(path.dirname(confFile), 'replica.ldif');
  await run('/usr/sbin/slapcat', ['-f', path.join(source.dir, 'slapd.conf'), '-b', source.baseDn, '-l', ldif]);
  await run('/usr/sbin/slapadd', ['-q', '-f', confFile, '-b', source.baseDn, '-l', ldif]);
}

/** A CA and a server certificate for localhost / 127.0.0.1, with openssl (EC keys: generated instantly). */
async function makeCertificates(dir: string): Promise<string> {
  const f = (name: string): string => path.join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '7',
    '-subj',
    '/CN=ldap-e2e test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', [
    'req',
    ...ecKey,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=localhost',
  ]);
  await writeFile(
    f('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '7',
    '-extfile',
    f('server.ext'),
    '-out',
    f('server.pem'),
  ]);
  return f('ca.pem');
}

async function seed(info: SlapdInfo, withFixtures: boolean): Promise<void> {
  const client = await adminClient(info);
  try {
    await client.add(info.baseDn, { objectClass: ['top', 'dcObject', 'organization'], dc: 'example', o: 'Example' });
    for (const [dn, ou] of [
      [info.peopleDn, 'people'],
      [info.groupsDn, 'groups'],
      [info.servicesDn, 'services'],
    ]) {
      await client.add(dn, { objectClass: ['top', 'organizationalUnit'], ou });
    }
    if (!withFixtures) return;
    await client.add(info.serviceDn, {
      objectClass: ['top', 'organizationalRole', 'simpleSecurityObject'],
      cn: SERVICE_ACCOUNT.username,
      userPassword: sshaPassword(info.servicePassword),
    });
  } finally {
    await client.unbind().catch(() => undefined);
  }
  // Over LDAP after start, so the memberof overlay fills memberOf.
  await seedFixtures(info);
}
