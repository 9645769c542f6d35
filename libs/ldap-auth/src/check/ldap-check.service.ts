import { MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH } from '../login/login-input.js';
import { Inject, Injectable } from '@nestjs/common';
import { AD_UUID_ATTRIBUTE, LDAP_AUTH_RESOLVED_OPTIONS, OPENLDAP_UUID_ATTRIBUTE } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import { GroupSync } from '../group-sync/group-sync.js';
import { LdapDirectory, type DirectorySession } from '../directory/ldap-directory.js';
import { CheckNetworkError, ldapUrlParts, probeTcp, resolveLdapHost } from '../directory/check-network.js';
import {
  CheckOpenError,
  type ConnectionSettings,
  inspectServerCertificate,
  type TlsDetails,
} from '../directory/check-tls.js';
import { type CheckConnection, openCheckConnection, type RootDseDetails } from '../directory/check-connection.js';
import { isWithin } from '../directory/server-info.js';
import type { DirectoryGroup, DirectoryUser } from '../model/directory-user.js';
import { looksLikeDn, normalizeDn, tryNormalizeDn } from '../model/ldap-escape.js';
import { ListedGroupMatcher } from '../model/listed-groups.js';
import {
  DirectoryError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  LdapAuthError,
} from '../errors/ldap-auth.errors.js';
import { CheckRun, type CheckReport, type StepOutcome, type UserCheckSummary } from './check-report.js';
import {
  CERTIFICATE_WARNING_DAYS,
  certificateLines,
  daysLeft,
  explainCertificateFailure,
  trustedCaSubjects,
  trustSource,
} from './tls-advice.js';

/** Entries counted at most by the user-count step ("at least N" beyond). */
export const DEFAULT_MAX_COUNTED_ENTRIES = 100_000;
/** Page size of the user count: AD's cap, as the full sync reads. */
const COUNT_PAGE_SIZE = 1000;

export interface CheckRunOptions {
  /** Also check one user's login: bind as them and read what a login reads. Nothing is written. */
  user?: { name: string; password: string };
  /** Stop counting user entries here (default 100,000). */
  maxCountedEntries?: number;
}

/** A connection step's outcome before it is recorded: an unreachable server may become a warning. */
interface PendingStep {
  id: string;
  title: string;
  outcome: StepOutcome;
  /** DNS or TCP failed: a warning, not a failure, when another URL works (the library fails over). */
  unreachable?: boolean;
}

interface UrlProbe {
  url: string;
  steps: PendingStep[];
  /** Open, and safe to send credentials on (TLS verified, or plain LDAP as configured). */
  connection?: CheckConnection;
}

type UserStage = 'name' | 'search' | 'bind' | 'entry' | 'groups';

/**
 * `npm run ldap:check`: the step-by-step diagnosis of the LDAP configuration (connection per URL with DNS,
 * TCP, StartTLS and the certificate; the root DSE; the service account; the search base; the user count; the
 * listed groups) and, given a user and password, what a login of that user would decide, without writing
 * anything. No credential is ever sent on a connection whose certificate did not verify.
 */
@Injectable()
export class LdapCheck {
  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
    private readonly directory: LdapDirectory,
    private readonly groupSync: GroupSync,
  ) {}

  async run(runOptions: CheckRunOptions = {}): Promise<CheckReport> {
    const started = Date.now();
    const run = new CheckRun();
    const { server } = this.options;
    const settings: ConnectionSettings = {
      starttls: server.starttls,
      tlsOptions: server.tlsOptions,
      // As LdapDirectory opens its connections.
      openDeadlineMs: server.connectTimeout + server.timeout,
      timeoutMs: server.timeout,
    };

    const probes: UrlProbe[] = [];
    for (const [index, url] of server.urls.entries()) probes.push(await this.probeUrl(url, index + 1, settings));
    const usable = probes.find((p) => p.connection);
    for (const probe of probes) {
      if (probe.connection && probe !== usable) await probe.connection.close();
      for (const step of probe.steps) {
        if (usable && step.unreachable && step.outcome.status === 'fail') {
          step.outcome = {
            ...step.outcome,
            status: 'warn',
            hint: `${step.outcome.hint ? `${step.outcome.hint}; ` : ''}meanwhile the library fails over to ${usable.url}`,
          };
        }
        run.record(step.id, step.title, step.outcome);
      }
    }

    let summary: CheckReport['server'];
    try {
      summary = await this.checkDirectory(run, usable?.connection, runOptions);
    } finally {
      await usable?.connection?.close();
    }
    const user = runOptions.user ? await this.checkUser(run, !!usable, runOptions.user) : undefined;
    return run.report(Date.now() - started, { server: summary, user });
  }

  /**
   * The name a login of `name` binds with (bind login mode), for a password prompt; undefined in search mode
   * (the entry's DN, found later) or when the formatter refuses the name (the check reports why).
   */
  bindNameFor(name: string): string | undefined {
    if (this.options.loginMode !== 'bind') return undefined;
    try {
      return this.formatter.toBindName(this.formatter.toLookupName(name.trim()));
    } catch {
      return undefined;
    }
  }

  // ---- 1. each URL: DNS, TCP, StartTLS, TLS ----

  private async probeUrl(url: string, n: number, settings: ConnectionSettings): Promise<UrlProbe> {
    const probe: UrlProbe = { url, steps: [] };
    const add = (stage: string, label: string, outcome: StepOutcome, unreachable = false) =>
      probe.steps.push({ id: `url${n}.${stage}`, title: `${url} ${label}`, outcome, unreachable });
    const { hostname, port, secure } = ldapUrlParts(url);
    const starttls = !secure && settings.starttls;
    const connectSeconds = this.options.server.connectTimeout / 1000;
    const skipRest = (reason: string) => {
      if (!probe.steps.some((s) => s.id === `url${n}.tcp`)) add('tcp', 'TCP', { status: 'skip', summary: reason });
      if (starttls) add('starttls', 'StartTLS', { status: 'skip', summary: reason });
      add('tls', 'TLS', { status: 'skip', summary: reason });
    };

    try {
      const found = await resolveLdapHost(hostname, this.options.server.connectTimeout);
      add('dns', 'DNS', {
        status: 'ok',
        summary: found.isIp
          ? `${hostname} is an IP address (nothing to resolve)`
          : `${hostname} → ${found.addresses.join(', ')} (${found.ms} ms)`,
        data: { addresses: found.addresses },
      });
    } catch (error) {
      const code = error instanceof CheckNetworkError ? error.code : 'EUNKNOWN';
      add(
        'dns',
        'DNS',
        {
          status: 'fail',
          summary: `cannot resolve ${hostname} (${code}${code === 'ENOTFOUND' ? ': no such host' : ''})`,
          hint: 'check the host name in LDAP_AUTH_URL, and this machine’s DNS settings',
          variables: ['LDAP_AUTH_URL'],
        },
        true,
      );
      skipRest('needs DNS, which failed');
      return probe;
    }

    try {
      const tcp = await probeTcp(hostname, port, this.options.server.connectTimeout);
      add('tcp', 'TCP', { status: 'ok', summary: `connected to ${tcp.address}:${port} in ${tcp.ms} ms` });
    } catch (error) {
      const code = error instanceof CheckNetworkError ? error.code : 'EUNKNOWN';
      const outcome: StepOutcome =
        code === 'ECONNREFUSED'
          ? {
              status: 'fail',
              summary: `connection refused by ${hostname}:${port}: nothing listens there`,
              hint: `is the directory server running, and is the port right (389 for ldap://, 636 for ldaps://)? Check LDAP_AUTH_URL`,
              variables: ['LDAP_AUTH_URL'],
            }
          : code === 'ETIMEDOUT'
            ? {
                status: 'fail',
                summary: `no answer from ${hostname}:${port} within ${connectSeconds} s`,
                hint: 'a firewall dropping packets, or the wrong host or port in LDAP_AUTH_URL (LDAP_AUTH_CONNECT_TIMEOUT sets the wait)',
                variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_CONNECT_TIMEOUT'],
              }
            : {
                status: 'fail',
                summary: `cannot connect to ${hostname}:${port}: ${(error as Error).message}`,
                hint: 'check the network path to the server and LDAP_AUTH_URL',
                variables: ['LDAP_AUTH_URL'],
              };
      add('tcp', 'TCP', outcome, true);
      skipRest('needs TCP, which failed');
      return probe;
    }

    let connection: CheckConnection;
    try {
      connection = await openCheckConnection(url, settings);
    } catch (error) {
      const failure = error instanceof CheckOpenError ? error : new CheckOpenError(String(error), 'connect');
      const stage = failure.stage;
      if (starttls) {
        if (stage === 'starttls' || stage === 'timeout' || stage === 'connect') {
          add('starttls', 'StartTLS', this.startTlsFailure(failure));
          add('tls', 'TLS', { status: 'skip', summary: 'needs StartTLS, which failed' });
          return probe;
        }
        add('starttls', 'StartTLS', { status: 'ok', summary: 'the server agreed to StartTLS' });
      }
      if (!secure && !starttls) {
        add('tls', 'TLS', {
          status: 'fail',
          summary: `cannot open the connection: ${failure.message}`,
          variables: ['LDAP_AUTH_URL'],
        });
        return probe;
      }
      add('tls', 'TLS', await this.tlsFailure(url, settings, failure));
      return probe;
    }

    if (starttls) add('starttls', 'StartTLS', { status: 'ok', summary: 'the server agreed to StartTLS' });
    if (!connection.tls) {
      add('tls', 'TLS', {
        status: 'warn',
        summary: 'none: plain LDAP, so passwords cross the network in clear text',
        hint: 'use ldaps:// (recommended) in LDAP_AUTH_URL, or LDAP_AUTH_USE_TLS=true for StartTLS',
        variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_USE_TLS'],
      });
      probe.connection = connection;
      return probe;
    }
    const outcome = this.tlsOutcome(connection.tls);
    add('tls', 'TLS', outcome);
    if (connection.tls.authorized) probe.connection = connection;
    else await connection.close();
    return probe;
  }

  private startTlsFailure(failure: CheckOpenError): StepOutcome {
    if (failure.resultCode !== undefined) {
      return {
        status: 'fail',
        summary: failure.message,
        hint: 'the server has no TLS set up for StartTLS (slapd: TLSCertificateFile / TLSCertificateKeyFile), or use its ldaps:// URL in LDAP_AUTH_URL',
        variables: ['LDAP_AUTH_USE_TLS', 'LDAP_AUTH_URL'],
      };
    }
    if (failure.stage === 'timeout') {
      return {
        status: 'fail',
        summary: `StartTLS and the TLS handshake did not finish: ${failure.message}`,
        hint: 'is this an LDAP port (not an LDAPS one)? LDAP_AUTH_CONNECT_TIMEOUT + LDAP_AUTH_RECEIVE_TIMEOUT set the wait',
        variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_CONNECT_TIMEOUT'],
      };
    }
    return {
      status: 'fail',
      summary: failure.message,
      hint: 'is this an LDAP port? StartTLS (LDAP_AUTH_USE_TLS=true) needs ldap:// on the plain LDAP port (389)',
      variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_USE_TLS'],
    };
  }

  /** The verified handshake failed: look at the certificate on a second, unverified connection (no credential on it). */
  private async tlsFailure(url: string, settings: ConnectionSettings, failure: CheckOpenError): Promise<StepOutcome> {
    let inspected: TlsDetails | undefined;
    try {
      inspected = await inspectServerCertificate(url, settings);
    } catch {
      inspected = undefined;
    }
    if (inspected && !inspected.authorized && inspected.authorizationError) {
      const outcome = this.tlsOutcome(inspected);
      return {
        ...outcome,
        details: [
          ...(outcome.details ?? []),
          '(the certificate was read on a second connection without verification, closed right after the handshake)',
        ],
      };
    }
    const secure = ldapUrlParts(url).secure;
    return {
      status: 'fail',
      summary: `TLS handshake failed: ${failure.message}`,
      hint: secure
        ? 'is this port speaking TLS? ldaps:// needs the LDAPS port (636); for the plain port (389) use ldap:// with LDAP_AUTH_USE_TLS=true'
        : 'check the server’s TLS setup, LDAP_AUTH_TLS_CA_FILE and LDAP_AUTH_TLS_SERVERNAME',
      variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_TLS_CA_FILE'],
    };
  }

  private tlsOutcome(tls: TlsDetails): StepOutcome {
    const { tlsOptions } = this.options.server;
    const now = new Date();
    const details = tls.certificate ? certificateLines(tls.certificate, now) : ['no certificate was presented'];
    const trust = {
      caConfigured: !!tlsOptions.ca,
      trustedCas: trustedCaSubjects(tlsOptions.ca),
      checkedName: tls.checkedName,
      servernameSet: !!tlsOptions.servername,
      now,
    };
    const data = {
      protocol: tls.protocol,
      cipher: tls.cipher,
      authorized: tls.authorized,
      certificate: tls.certificate,
    };
    if (!tls.authorized) {
      const verdict = explainCertificateFailure(tls.authorizationError ?? 'unknown', tls.certificate, trust);
      const accepted = tlsOptions.rejectUnauthorized === false;
      return {
        status: 'fail',
        summary: verdict.summary,
        details,
        hint: accepted
          ? `${verdict.hint}. LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false makes the app accept it anyway (anyone on the path can read passwords); this check sends no credential on it`
          : verdict.hint,
        variables: [...verdict.variables, ...(accepted ? ['LDAP_AUTH_TLS_REJECT_UNAUTHORIZED'] : [])],
        data: { ...data, authorizationError: tls.authorizationError },
      };
    }
    const verified = `${tls.protocol ?? 'TLS'}, certificate verified for "${tls.checkedName}" against ${trustSource(trust)}`;
    const left = tls.certificate ? daysLeft(tls.certificate.validTo, now) : Infinity;
    if (left < CERTIFICATE_WARNING_DAYS) {
      return {
        status: 'warn',
        summary: `${verified}, but it expires in ${left} days`,
        details,
        hint: 'renew the directory server certificate before it expires: logins stop when it does',
        data,
      };
    }
    if (tlsOptions.rejectUnauthorized === false) {
      return {
        status: 'warn',
        summary: verified,
        details,
        hint: 'LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false: the app would accept any certificate; set it to true',
        variables: ['LDAP_AUTH_TLS_REJECT_UNAUTHORIZED'],
        data,
      };
    }
    return { status: 'ok', summary: verified, details, data };
  }

  // ---- 2–6. the directory, on the first URL that passed ----

  private async checkDirectory(
    run: CheckRun,
    connection: CheckConnection | undefined,
    runOptions: CheckRunOptions,
  ): Promise<CheckReport['server']> {
    const { server, objectClass } = this.options;
    const blockedBy = connection ? undefined : 'no URL of LDAP_AUTH_URL passed the connection checks above';
    let rootDse: RootDseDetails | undefined;

    await run.step('rootDse', 'root DSE', { blockedBy }, async () => {
      try {
        rootDse = await connection!.readRootDse();
      } catch (error) {
        return {
          status: 'fail',
          summary: `the server did not answer an LDAP read: ${reasonOf(error)}`,
          hint: ldapUrlParts(connection!.url).secure
            ? 'is this an LDAPS port? check LDAP_AUTH_URL'
            : 'is this an LDAP port? An LDAPS port (636) needs ldaps:// in LDAP_AUTH_URL; LDAP_AUTH_RECEIVE_TIMEOUT sets the wait',
          variables: ['LDAP_AUTH_URL'],
        };
      }
      return this.rootDseOutcome(connection!.url, rootDse);
    });

    await run.step('serviceBind', 'service account', { blockedBy, needs: ['rootDse'] }, async () =>
      this.serviceBind(connection!),
    );

    await run.step('searchBase', 'search base', { blockedBy, needs: ['serviceBind'] }, async () =>
      (await connection!.entryExists(server.searchBase))
        ? { status: 'ok', summary: `${server.searchBase} exists` }
        : {
            status: 'fail',
            summary: `${server.searchBase} does not exist (code 32, no such object)`,
            hint: `set LDAP_AUTH_SEARCH_BASE to the DN of the entry that holds the users${rootDse?.namingContexts.length ? `, under one of the naming contexts (${rootDse.namingContexts.join('; ')})` : ''}`,
            variables: ['LDAP_AUTH_SEARCH_BASE'],
          },
    );

    await run.step('users', 'users', { blockedBy, needs: ['searchBase'] }, async () => {
      const cap = runOptions.maxCountedEntries ?? DEFAULT_MAX_COUNTED_ENTRIES;
      const counted = await connection!.countUsers(server.searchBase, objectClass, { pageSize: COUNT_PAGE_SIZE, cap });
      const where = `${counted.filter} under ${server.searchBase}`;
      const pages = `${counted.pages} page${counted.pages === 1 ? '' : 's'} of up to ${COUNT_PAGE_SIZE.toLocaleString('en-US')}`;
      const data = { ...counted };
      if (counted.stoppedBy === 'sizeLimit') {
        return {
          status: 'fail',
          summary: `the server stopped the paged read after ${counted.count} entries: size limit exceeded (code 4)`,
          hint: `the full sync reads every entry and would abort: lift the limit for the service account (slapd: limits dn.exact="<its DN>" size.prtotal=unlimited)`,
          variables: ['LDAP_SYNC_USER_USERNAME'],
          data,
        };
      }
      if (counted.referrals) {
        return {
          status: 'fail',
          summary: `${counted.count} entries match ${where}, and the server referred ${counted.referrals} part(s) elsewhere`,
          hint: 'referrals are not followed (the full sync aborts on them): narrow LDAP_AUTH_SEARCH_BASE to one partition',
          variables: ['LDAP_AUTH_SEARCH_BASE'],
          data,
        };
      }
      if (counted.stoppedBy === 'cap') {
        return {
          status: 'ok',
          summary: `at least ${counted.count} entries match ${where} (counting stopped there)`,
          data,
        };
      }
      if (counted.count === 0) {
        const ad = rootDse?.server.activeDirectory;
        return {
          status: 'fail',
          summary: `no entry matches ${where}`,
          hint:
            ad && objectClass.toLowerCase() !== 'user'
              ? 'on Active Directory set LDAP_AUTH_OBJECT_CLASS=user'
              : 'check LDAP_AUTH_OBJECT_CLASS (the objectClass of user entries) and LDAP_AUTH_SEARCH_BASE',
          variables: ['LDAP_AUTH_OBJECT_CLASS', 'LDAP_AUTH_SEARCH_BASE'],
          data,
        };
      }
      return { status: 'ok', summary: `${counted.count} entries match ${where} (${pages})`, data };
    });

    const memberAttribute =
      this.options.groupMembership === 'uniqueMember' || this.options.groupMembership === 'memberUid'
        ? this.options.groupMembership
        : 'member';
    for (const [index, group] of this.listedGroups().entries()) {
      const variables = group.variables;
      await run.step(`group${index + 1}`, `group ${group.dn}`, { blockedBy, needs: ['serviceBind'] }, async () => {
        const found = await connection!.readGroup(group.dn, memberAttribute);
        if (!found) {
          return {
            status: 'fail',
            summary: `does not exist (${variables.join(', ')})`,
            hint: variables.includes('LDAP_LOGIN_GROUP')
              ? 'set LDAP_LOGIN_GROUP to the DN of an existing group: with a login group that does not exist nobody may log in and the full sync aborts'
              : 'fix or remove this DN in LDAP_SYNCED_GROUPS (colon-separated group DNs): logins ignore it and the full sync deletes its app group',
            variables,
          };
        }
        const data = { ...found };
        if (!found.isGroup) {
          return {
            status: 'warn',
            summary: `exists but is not a group (objectClass ${found.objectClasses.join(', ')}) (${variables.join(', ')})`,
            hint: `check ${variables.join(' / ')}: it should name a group entry`,
            variables,
            data,
          };
        }
        return {
          status: 'ok',
          summary: `exists: "${found.name}", ${found.memberValues} direct member value${found.memberValues === 1 ? '' : 's'} (${memberAttribute}) (${variables.join(', ')})`,
          data,
        };
      });
    }

    return connection && rootDse
      ? {
          url: connection.url,
          activeDirectory: rootDse.server.activeDirectory,
          namingContexts: rootDse.namingContexts,
        }
      : undefined;
  }

  private rootDseOutcome(url: string, rootDse: RootDseDetails): StepOutcome {
    const { searchBase } = this.options.server;
    const ad = rootDse.server.activeDirectory;
    const kind = ad
      ? 'Active Directory (or Samba AD): stable id objectGUID, membership from memberOf'
      : `not Active Directory${rootDse.vendor ? ` (${rootDse.vendor})` : ''}: stable id entryUUID`;
    const details = [
      `server        ${url}${rootDse.dnsHostName ? ` (${rootDse.dnsHostName})` : ''}`,
      `naming ctx    ${rootDse.namingContexts.length ? rootDse.namingContexts.join('; ') : 'none named'}`,
      `"Who am I?"   ${rootDse.server.whoAmI ? 'supported' : 'not supported'}`,
    ];
    const data = { ...rootDse };
    if (!rootDse.readable) {
      return {
        status: 'warn',
        summary: 'the server would not show its root DSE: the library treats it as a server that is not AD',
        details,
        hint: 'allow anonymous reads of the root DSE (every LDAP server allows it by default)',
        data,
      };
    }
    const base = tryNormalizeDn(searchBase);
    const context = base
      ? rootDse.server.namingContexts.filter((nc) => isWithin(base, nc)).sort((a, b) => b.length - a.length)[0]
      : undefined;
    if (context === undefined && rootDse.server.namingContexts.length) {
      return {
        status: 'fail',
        summary: `${kind}; the search base ${searchBase} is in none of its naming contexts`,
        details,
        hint: `LDAP_AUTH_SEARCH_BASE must end with one of: ${rootDse.namingContexts.join('; ')}`,
        variables: ['LDAP_AUTH_SEARCH_BASE'],
        data,
      };
    }
    const spelled = rootDse.namingContexts.find((nc) => tryNormalizeDn(nc) === context) ?? context;
    return {
      status: 'ok',
      summary: `${kind}; the search base is within ${spelled ?? 'a naming context the server does not list'}`,
      details,
      data,
    };
  }

  /** The service account's bind name as the library forms it: a DN as given, else through the formatter. */
  private serviceAccountName(): { bindName: string; configured: string; password: string } | undefined {
    const { server, serviceAccount } = this.options;
    if (server.bindDN && server.bindCredentials) {
      return { bindName: server.bindDN, configured: server.bindDN, password: server.bindCredentials };
    }
    if (!serviceAccount?.password) return undefined;
    const name = serviceAccount.username;
    const bindName = looksLikeDn(name) ? name : this.formatter.toBindName(this.formatter.toLookupName(name));
    return { bindName, configured: name, password: serviceAccount.password };
  }

  private async serviceBind(connection: CheckConnection): Promise<StepOutcome> {
    let account: ReturnType<LdapCheck['serviceAccountName']>;
    try {
      account = this.serviceAccountName();
    } catch (error) {
      return {
        status: 'fail',
        summary: `LDAP_SYNC_USER_USERNAME cannot be turned into a bind name: ${reasonOf(error)}`,
        hint: 'give the service account as a DN, or as a name of the configured domain',
        variables: ['LDAP_SYNC_USER_USERNAME', 'LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN'],
      };
    }
    if (!account) {
      return {
        status: 'skip',
        summary:
          'no service account configured (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): the full sync and LDAP_AUTH_LOGIN_MODE=search need one',
        variables: ['LDAP_SYNC_USER_USERNAME', 'LDAP_SYNC_USER_PASSWORD'],
      };
    }
    const formatted =
      account.configured === account.bindName
        ? []
        : [`LDAP_SYNC_USER_USERNAME "${account.configured}" → ${account.bindName} (LDAP_AUTH_FORMAT_USERNAME)`];
    const outcome = await connection.bind(account.bindName, account.password);
    if (outcome.ok) {
      return {
        status: 'ok',
        summary: `bound as ${account.bindName}`,
        details: formatted,
        data: { bindName: account.bindName },
      };
    }
    const tlsWanted = outcome.code === 8 || outcome.code === 13;
    return {
      status: 'fail',
      summary: `the server refused the bind as ${account.bindName}: ${outcome.reason}`,
      details: formatted,
      hint: tlsWanted
        ? 'the server requires TLS for binds: use ldaps:// in LDAP_AUTH_URL or LDAP_AUTH_USE_TLS=true'
        : outcome.code === 49
          ? 'check LDAP_SYNC_USER_PASSWORD, and that LDAP_SYNC_USER_USERNAME names the account (a DN is used as it is; a plain name goes through LDAP_AUTH_FORMAT_USERNAME and LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN)'
          : 'check the service account in the directory (locked, disabled, expired?) and LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD',
      variables: tlsWanted
        ? ['LDAP_AUTH_URL', 'LDAP_AUTH_USE_TLS']
        : ['LDAP_SYNC_USER_PASSWORD', 'LDAP_SYNC_USER_USERNAME'],
      data: { bindName: account.bindName, resultCode: outcome.code },
    };
  }

  /** LDAP_SYNCED_GROUPS and LDAP_LOGIN_GROUP, each DN once, with the variables that name it. */
  private listedGroups(): Array<{ dn: string; normalized: string; variables: string[] }> {
    const groups = new Map<string, { dn: string; normalized: string; variables: string[] }>();
    const add = (dn: string, variable: string) => {
      const normalized = normalizeDn(dn);
      const known = groups.get(normalized);
      if (known) {
        if (!known.variables.includes(variable)) known.variables.push(variable);
      } else {
        groups.set(normalized, { dn, normalized, variables: [variable] });
      }
    };
    for (const dn of this.options.syncedGroups) add(dn, 'LDAP_SYNCED_GROUPS');
    for (const dn of this.groupSync.managedGroupDns()) add(dn, 'LDAP_SYNCED_GROUPS');
    if (this.options.loginGroup) add(this.options.loginGroup, 'LDAP_LOGIN_GROUP');
    return [...groups.values()];
  }

  // ---- 7. one user's login, through the library's own login path, writing nothing ----

  private async checkUser(
    run: CheckRun,
    serverUsable: boolean,
    request: { name: string; password: string },
  ): Promise<UserCheckSummary> {
    const { server, loginMode, userFields } = this.options;
    const summary: UserCheckSummary = { name: request.name };
    const usesTls = server.starttls || server.urls.some((u) => ldapUrlParts(u).secure);
    const blockedBy = !serverUsable
      ? 'no URL of LDAP_AUTH_URL passed the connection checks above: the password is not sent'
      : usesTls && server.tlsOptions.rejectUnauthorized === false
        ? 'LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false: the library’s connections do not verify certificates, so this check does not send the password; set it to true (with LDAP_AUTH_TLS_CA_FILE) to test a login'
        : undefined;

    // As LdapLoginService.authenticate: the same input checks, the same names.
    let lookupName = '';
    let bindName = '';
    await run.step('user.name', `user "${request.name}"`, { blockedBy }, () => {
      const name = request.name.trim();
      const refused = (why: string): StepOutcome => ({ status: 'fail', summary: `refused before any bind: ${why}` });
      if (!name) return refused('empty username');
      if (!request.password) return refused('empty password (never sent: servers treat it as an anonymous bind)');
      if (name.includes('\0') || request.password.includes('\0')) return refused('NUL character in the input');
      if (name.length > MAX_USERNAME_LENGTH || request.password.length > MAX_PASSWORD_LENGTH) {
        return refused('username or password too long');
      }
      try {
        lookupName = this.formatter.toLookupName(name);
        if (loginMode === 'bind') bindName = this.formatter.toBindName(lookupName);
      } catch (error) {
        return {
          status: 'fail',
          summary: `refused before any bind: ${reasonOf(error)}`,
          hint: 'check the name typed against LDAP_AUTH_FORMAT_USERNAME and LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN',
          variables: ['LDAP_AUTH_FORMAT_USERNAME', 'LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN'],
        };
      }
      summary.bindName = loginMode === 'bind' ? bindName : undefined;
      return {
        status: 'ok',
        summary:
          loginMode === 'bind'
            ? `binds as ${bindName} (looked up as ${userFields.username}=${lookupName})`
            : `searched as ${userFields.username}=${lookupName} with the service account, then bound as the entry's DN (LDAP_AUTH_LOGIN_MODE=search)`,
      };
    });

    const groupDns = this.listedGroups().map((g) => g.normalized);
    const loginGroupDns = new Set([
      ...this.groupSync.managedGroupDns(),
      ...(this.options.loginGroup ? [normalizeDn(this.options.loginGroup)] : []),
    ]);
    const progress: { stage: UserStage; user?: DirectoryUser } = { stage: 'name' };
    let found: { user: DirectoryUser; known: Map<string, DirectoryGroup>; memberOf: Set<string> } | undefined;
    let failure: unknown;
    if (run.passed('user.name')) {
      const readGroups = async (session: DirectorySession, user: DirectoryUser) => {
        progress.stage = 'groups';
        progress.user = user;
        const known = await session.readGroups(groupDns);
        return { user, known, memberOf: await session.membership(user, groupDns, known) };
      };
      try {
        if (loginMode === 'search') {
          progress.stage = 'search';
          const user = await this.directory.withServiceSession((session) => session.findUser(lookupName));
          bindName = user.dn;
          summary.bindName = bindName;
          progress.stage = 'bind';
          found = await this.directory.withUserSession(user.dn, request.password, (session) =>
            readGroups(session, user),
          );
        } else {
          progress.stage = 'bind';
          found = await this.directory.withUserSession(bindName, request.password, async (session) => {
            progress.stage = 'entry';
            // findUser on a user session checks that the entry is the identity that bound, as at login.
            const user = await session.findUser(lookupName);
            return readGroups(session, user);
          });
        }
      } catch (error) {
        failure = error;
      }
    }
    const failedAt = failure ? progress.stage : undefined;
    const userFailure = (what: string): StepOutcome => this.userFailure(what, failure);

    if (loginMode === 'search') {
      await run.step('user.search', 'user entry search (service account)', { needs: ['user.name'] }, () =>
        failedAt === 'search'
          ? userFailure('the service account did not find exactly one entry')
          : { status: 'ok', summary: `found ${bindName}` },
      );
    }
    await run.step('user.bind', 'user bind', { needs: [loginMode === 'search' ? 'user.search' : 'user.name'] }, () =>
      failedAt === 'bind'
        ? userFailure(
            `the bind as ${bindName} ${failure instanceof InvalidCredentialsError ? 'was refused' : 'failed'}`,
          )
        : { status: 'ok', summary: `bound as ${bindName}` },
    );
    await run.step('user.entry', 'user entry', { needs: ['user.bind'] }, () => {
      if (failedAt === 'entry') return userFailure('the bind worked, but the login cannot use the entry');
      const user = progress.user!;
      Object.assign(summary, {
        dn: user.dn,
        username: user.username,
        email: user.email,
        firstName: user.firstName,
        lastName: user.lastName,
        uuid: user.uuid,
      });
      const field = (label: string, value: string | null, attribute?: string) =>
        `${label.padEnd(11)}${value ?? '(none)'}${attribute ? ` (${attribute})` : ''}`;
      return {
        status: 'ok',
        summary: user.dn,
        details: [
          field('username', user.username, userFields.username),
          field('email', user.email, userFields.email),
          field('first name', user.firstName, userFields.firstName),
          field('last name', user.lastName, userFields.lastName),
          field('stable id', user.uuid, user.isActiveDirectory ? AD_UUID_ATTRIBUTE : OPENLDAP_UUID_ATTRIBUTE),
          loginMode === 'bind'
            ? 'identity   the entry is the identity that bound (checked as at login)'
            : 'identity   bound as the DN the service account found',
        ],
        data: {
          dn: user.dn,
          username: user.username,
          email: user.email,
          firstName: user.firstName,
          lastName: user.lastName,
          uuid: user.uuid,
        },
      };
    });
    await run.step('user.groups', 'user groups', { needs: ['user.entry'] }, () => {
      if (failedAt === 'groups') return userFailure('reading the groups failed');
      const { user, known, memberOf } = found!;
      const direct = new ListedGroupMatcher(
        this.listedGroups().map((g) => g.normalized),
        known,
      ).match((user.memberOf ?? []).map(tryNormalizeDn).filter((dn): dn is string => !!dn));
      const listed = this.listedGroups();
      summary.groups = listed.map((g) => {
        const member = memberOf.has(g.normalized);
        const how: 'direct' | 'nested' | undefined = !member
          ? undefined
          : user.memberOf === undefined && !direct.size
            ? undefined
            : direct.has(g.normalized)
              ? 'direct'
              : 'nested';
        return { dn: g.dn, exists: known.has(g.normalized), member, how };
      });
      if (!listed.length) {
        return { status: 'ok', summary: 'no groups listed (LDAP_SYNCED_GROUPS, LDAP_LOGIN_GROUP): nothing to check' };
      }
      const details = summary.groups.map(
        (g) =>
          `${g.member ? 'member    ' : 'not member'} ${g.dn}${g.how ? ` (${g.how})` : ''}${g.exists ? '' : ' (does not exist)'}`,
      );
      if (!this.options.nestedGroups)
        details.push('LDAP_NESTED_GROUPS=false: membership through nested groups does not count');
      const count = summary.groups.filter((g) => g.member).length;
      return {
        status: 'ok',
        summary: `member of ${count} of the ${listed.length} listed group${listed.length === 1 ? '' : 's'}`,
        details,
        data: { groups: summary.groups },
      };
    });
    await run.step('user.login', 'login decision', { needs: ['user.groups'] }, () => {
      const { user, known, memberOf } = found!;
      // What LdapLoginService decides: the login group, then the group plan. Only what it uses counts.
      const loginMemberOf = new Set([...memberOf].filter((dn) => loginGroupDns.has(dn)));
      const loginGroup = this.options.loginGroup;
      const notChecked =
        'not checked here: the app’s own database (a user deactivated in the app, or a username held by a local user, is refused at login)';
      if (loginGroup && !loginMemberOf.has(normalizeDn(loginGroup))) {
        summary.mayLogIn = false;
        summary.refusal = `not a member of the login group ${loginGroup}`;
        return {
          status: 'fail',
          summary: `this user may NOT log in: ${user.dn} is not a member of the login group ${loginGroup} (LDAP_LOGIN_GROUP)`,
          hint: this.options.nestedGroups
            ? 'add the user to the login group, directly or through a nested group'
            : 'add the user to the login group directly (membership through nested groups counts only with LDAP_NESTED_GROUPS=true)',
          variables: ['LDAP_LOGIN_GROUP', 'LDAP_NESTED_GROUPS'],
        };
      }
      summary.mayLogIn = true;
      const plan = this.groupSync.plan(user, loginMemberOf, known);
      const names = (dns: readonly string[]) =>
        dns.length ? dns.map((dn) => known.get(dn)?.name ?? dn).join(', ') : 'none';
      const details = [
        loginGroup
          ? `login group ${loginGroup}: member`
          : 'no login group (LDAP_AUTH_FORMAT_SEARCH_FILTERS / LDAP_LOGIN_GROUP): every user who binds may log in',
        plan
          ? `groups     would join ${names(plan.join.map((g) => g.ldapDn))}; would leave (if in them) ${names(plan.leave)}; in organisation ${plan.organisationId}`
          : 'groups     not changed at login (LDAP_AUTH_SYNC_USER_RELATIONS is not sync_user_groups)',
        `stored as  username "${user.username}", matched by ${user.isActiveDirectory ? AD_UUID_ATTRIBUTE : OPENLDAP_UUID_ATTRIBUTE} ${user.uuid}`,
        notChecked,
      ];
      return {
        status: 'ok',
        summary: `this user may log in (nothing was written)`,
        details,
        data: { mayLogIn: true, plan },
      };
    });
    return summary;
  }

  private userFailure(what: string, error: unknown): StepOutcome {
    if (error instanceof InvalidCredentialsError) {
      return {
        status: 'fail',
        summary: `${what}: ${error.reason}`,
        hint: /wrong username or password|wrong password|user not found/.test(error.reason)
          ? 'check the password typed and the bind name (LDAP_AUTH_FORMAT_USERNAME, LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN, LDAP_AUTH_SEARCH_BASE)'
          : /no entry matches|more than one entry/.test(error.reason)
            ? 'check LDAP_AUTH_SEARCH_BASE, LDAP_AUTH_OBJECT_CLASS and the username attribute in LDAP_AUTH_USER_FIELDS'
            : 'see the reason above: the login is refused the same way',
        variables: /no entry matches|more than one entry/.test(error.reason)
          ? ['LDAP_AUTH_SEARCH_BASE', 'LDAP_AUTH_OBJECT_CLASS', 'LDAP_AUTH_USER_FIELDS']
          : [],
      };
    }
    if (error instanceof DirectoryUnavailableError) {
      return {
        status: 'fail',
        summary: `${what}: ${error.message}`,
        hint: 'see the connection steps above',
        variables: ['LDAP_AUTH_URL'],
      };
    }
    if (error instanceof DirectoryError || error instanceof LdapAuthError) {
      return { status: 'fail', summary: `${what}: ${error.message}` };
    }
    return { status: 'fail', summary: `${what}: ${reasonOf(error)}` };
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof InvalidCredentialsError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}

/** @deprecated renamed to LdapCheck, as the `ldap:check` command: the same class, so `app.get` works with either. */
export const LdapDiagnostics = LdapCheck;
/** @deprecated renamed to LdapCheck. */
export type LdapDiagnostics = LdapCheck;
/** @deprecated renamed to CheckRunOptions. */
export type DiagnosticsRunOptions = CheckRunOptions;
