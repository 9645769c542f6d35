import { CheckNetworkError, ldapUrlParts, probeTcp, resolveLdapHost } from '../../directory/check-network.js';
import { CheckOpenError, type ConnectionSettings } from '../../directory/check-tls.js';
import { type CheckConnection, openCheckConnection } from '../../directory/check-connection.js';
import type { CheckRun, StepOutcome } from '../check-report.js';
import type { CheckContext } from './check-context.js';
import { startTlsFailure, tlsFailure, tlsOutcome } from './tls-steps.js';

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

/**
 * Steps 1 (`urlN.dns`, `urlN.tcp`, `urlN.starttls`, `urlN.tls`): each URL of LDAP_AUTH_URL in turn. Returns an
 * open connection on the first URL that passed, for the directory steps (the caller closes it), if any.
 */
export async function checkConnections(ctx: CheckContext, run: CheckRun): Promise<CheckConnection | undefined> {
  const { server } = ctx.options;
  const settings: ConnectionSettings = {
    starttls: server.starttls,
    tlsOptions: server.tlsOptions,
    // As LdapDirectory opens its connections.
    openDeadlineMs: server.connectTimeout + server.timeout,
    timeoutMs: server.timeout,
  };

  const probes: UrlProbe[] = [];
  for (const [index, url] of server.urls.entries()) probes.push(await probeUrl(ctx, url, index + 1, settings));
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
  return usable?.connection;
}

/** DNS, TCP, StartTLS and TLS of one URL, each its own step, stopping at the first that fails. */
async function probeUrl(ctx: CheckContext, url: string, n: number, settings: ConnectionSettings): Promise<UrlProbe> {
  const probe: UrlProbe = { url, steps: [] };
  const add = (stage: string, label: string, outcome: StepOutcome, unreachable = false) =>
    probe.steps.push({ id: `url${n}.${stage}`, title: `${url} ${label}`, outcome, unreachable });
  const { hostname, port, secure } = ldapUrlParts(url);
  const starttls = !secure && settings.starttls;
  const connectSeconds = ctx.options.server.connectTimeout / 1000;
  const skipRest = (reason: string) => {
    if (!probe.steps.some((s) => s.id === `url${n}.tcp`)) add('tcp', 'TCP', { status: 'skip', summary: reason });
    if (starttls) add('starttls', 'StartTLS', { status: 'skip', summary: reason });
    add('tls', 'TLS', { status: 'skip', summary: reason });
  };

  try {
    const found = await resolveLdapHost(hostname, ctx.options.server.connectTimeout);
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
    const tcp = await probeTcp(hostname, port, ctx.options.server.connectTimeout);
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
        add('starttls', 'StartTLS', startTlsFailure(failure));
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
    add('tls', 'TLS', await tlsFailure(ctx, url, settings, failure));
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
  const outcome = tlsOutcome(ctx, connection.tls);
  add('tls', 'TLS', outcome);
  if (connection.tls.authorized) probe.connection = connection;
  else await connection.close();
  return probe;
}
