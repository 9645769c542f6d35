/**
 * A throwaway OpenLDAP server (slapd 2.5) on 127.0.0.1, seeded with fixtures.ts. See
 * shared docs real-directories.md for the recipe this follows.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVICE_ACCOUNT } from './fixtures.js';
import { adminClient, seedFixtures, sshaPassword } from './directory-admin.js';
import { freePort, logTail, stopProcess, type ServerProcess } from './servers.js';
import { launchSlapd } from './slapd-process.js';

const run = promisify(execFile);

const BASE_DN = 'dc=example,dc=com';
/** The slapd configuration shared with the directory container (docker/openldap). */
/**
 * docker/openldap/slapd.conf.template, found from this file: two levels up in the sources, more once compiled
 * (the bench runs this file from dist/bench/test/support).
 */
const SLAPD_CONF_TEMPLATE = findUp(path.dirname(fileURLToPath(import.meta.url)), 'docker/openldap/slapd.conf.template');

function findUp(start: string, relative: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`${relative} not found above ${start}`);
  }
}
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
    await writeFile(confFile, await slapdConf(info, options.logLevel, options.memberOf ?? 'overlay'));

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

/**
 * The slapd configuration: docker/openldap/slapd.conf.template (the one the directory container uses too),
 * filled for this instance. Every {{NAME}} in the template must get a value here.
 */
async function slapdConf(
  info: SlapdInfo,
  logLevel: number | string | undefined,
  memberOf: 'overlay' | 'schema-only',
): Promise<string> {
  const f = (name: string): string => path.join(info.dir, name);
  let conf = fillTemplate(await readFile(SLAPD_CONF_TEMPLATE, 'utf8'), {
    RUN_DIR: info.dir,
    TLS_CA_FILE: f('ca.pem'),
    TLS_CERT_FILE: f('server.pem'),
    TLS_KEY_FILE: f('server.key'),
    SUFFIX: info.baseDn,
    ROOT_DN: info.adminDn,
    ROOT_PW_HASH: sshaPassword(info.adminPassword),
    DATA_DIR: f('data'),
    SYNC_ACCOUNT_DN: info.serviceDn,
  });
  // The template writes these DNs from SUFFIX; the fixtures and the tests name them from info.
  for (const needed of [`"uid=${HIDDEN_SELF_UID},${info.peopleDn}"`, `refint_nothing "${info.emptyGroupMember}"`]) {
    if (!conf.includes(needed)) throw new Error(`${SLAPD_CONF_TEMPLATE} no longer yields ${needed}`);
  }
  if (memberOf === 'schema-only') conf = await withoutMemberOfOverlay(conf, f('memberof-attribute.schema'));
  // A global directive: before the first `database`, so at the top.
  const global = logLevel === undefined ? '' : `loglevel ${logLevel}\n`;
  return `# Generated by test/support/slapd.ts from ${SLAPD_CONF_TEMPLATE}\n${global}${conf}`;
}

/** memberOf as a plain attribute type (the overlay, when loaded, defines it itself). */
const MEMBER_OF_SCHEMA = `attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf'
  EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
`;

/** The configuration without the memberof module and overlay, with a schema file that defines memberOf. */
async function withoutMemberOfOverlay(conf: string, schemaFile: string): Promise<string> {
  await writeFile(schemaFile, MEMBER_OF_SCHEMA);
  const lines = conf.split('\n');
  const kept = lines.filter((line) => !/^(moduleload memberof|overlay memberof|memberof-)/.test(line.trim()));
  if (lines.length - kept.length !== 6) throw new Error(`${SLAPD_CONF_TEMPLATE}: the memberof lines changed`);
  const last = kept.findLastIndex((line) => line.startsWith('include '));
  kept.splice(last + 1, 0, `include ${schemaFile}`);
  return kept.join('\n');
}

/** Replaces each {{NAME}}; a placeholder without a value (or a value without a placeholder) is an error. */
function fillTemplate(template: string, values: Record<string, string>): string {
  const used = new Set<string>();
  const text = template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${SLAPD_CONF_TEMPLATE}: no value for {{${name}}}`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length) throw new Error(`${SLAPD_CONF_TEMPLATE} has no {{${unused.join('}}, {{')}}}`);
  return text;
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
