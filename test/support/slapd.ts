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
import { freePort, logTail, spawnServer, stopProcess, waitForPorts, type ServerProcess } from './servers.js';

const run = promisify(execFile);

const BASE_DN = 'dc=example,dc=com';
/** uid of the one entry under ou=people that an ACL hides from its own user (see slapdConf). */
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
    await writeFile(confFile, slapdConf(info));

    const launch = async (): Promise<ServerProcess> => {
      // -d keeps slapd in the foreground. Not "-d 0": that also hides startup errors (bad config, port in
      // use); "none" prints just those.
      const p = spawnServer(
        '/usr/sbin/slapd',
        ['-f', confFile, '-h', `ldap://127.0.0.1:${ldapPort}/ ldaps://127.0.0.1:${ldapsPort}/`, '-d', 'none'],
        path.join(dir, 'slapd.log'),
      );
      await waitForPorts(p, 'slapd', [ldapPort, ldapsPort], 10_000).catch(async (err: unknown) => {
        await stopProcess(p);
        throw err;
      });
      return p;
    };
    proc = await launch();
    info.pid = proc.pid;
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

function slapdConf(info: SlapdInfo): string {
  const f = (name: string): string => path.join(info.dir, name);
  return `# Generated by test/support/slapd.ts
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema

pidfile ${f('slapd.pid')}
argsfile ${f('slapd.args')}

modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint

TLSCACertificateFile ${f('ca.pem')}
TLSCertificateFile ${f('server.pem')}
TLSCertificateKeyFile ${f('server.key')}

database mdb
maxsize 1073741824
suffix "${info.baseDn}"
rootdn "${info.adminDn}"
rootpw ${sshaPassword(info.adminPassword)}
directory ${f('data')}

index objectClass,uid,cn,mail,member,memberOf,entryUUID eq

# An entry its own user may bind as but not see (login-security e2e: the app must store the identity that
# bound, not a same-named entry the search finds elsewhere).
access to dn.exact="uid=${HIDDEN_SELF_UID},${info.peopleDn}" attrs=entry,userPassword
  by anonymous auth
  by * none
access to dn.exact="uid=${HIDDEN_SELF_UID},${info.peopleDn}"
  by * none

# Passwords: only for binding and for their owner; everything else is readable, anonymously too.
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read

# The default size limit (500) also caps paged searches (size.prtotal); the sync account reads everything.
limits dn.exact="${info.serviceDn}" size.prtotal=unlimited size=unlimited

# memberOf on users and on nested groups, kept up to date on member changes, renames and deletes.
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

# Renames and deletes of users and groups update the member values that point at them. When that would
# leave a group without members, refint puts the placeholder in (groupOfNames needs one).
overlay refint
refint_attributes member
refint_nothing "${info.emptyGroupMember}"
`;
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
