import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { probeDirectory, type DirectoryProbeResult, type ServiceAccountState } from '../directory/ldap-health-probe.js';

/** How long a probe's result answers every health check before the directory is asked again. */
export const LDAP_HEALTH_RESULT_TTL_MS = 3_000;
/**
 * A health check's own deadline, whatever the login timeouts are: a probe still running then answers "down"
 * (and goes on in the background, bounded by the timeouts, closing its connections), so an orchestrator never
 * waits the login's connect + receive timeouts when every server hangs.
 */
export const LDAP_HEALTH_DEADLINE_MS = 3_000;

/**
 * What {@link LdapHealthIndicator.isHealthy} returns: `{ [key]: { status: 'up' | 'down', serviceAccount? } }`,
 * the shape of `@nestjs/terminus`'s `HealthIndicatorResult` (so it goes straight into
 * `HealthCheckService.check`), without the library depending on terminus. It never holds a host or a server's
 * message (those go to the log only); `serviceAccount` is a state or a result code, present when up.
 */
export type LdapHealthIndicatorResult<Key extends string = 'directory'> = Record<
  Key,
  { status: 'up' | 'down'; serviceAccount?: ServiceAccountState }
>;

/** The directory's state for the app itself (start-up messages): whether it answers, and the service account's. */
export interface LdapDirectoryHealth {
  up: boolean;
  /**
   * Present when the directory answered: 'ok', 'not configured', 'no answer' or `refused: <result code>`. With
   * loginMode 'search' a service account that is not 'ok' makes `up` false (logins need it there).
   */
  serviceAccount?: ServiceAccountState;
}

/**
 * Whether the directory answers, for health endpoints: connect and read the root DSE (what logins need). When a
 * service account is configured it also binds as it and reports its state apart (`serviceAccount`), so a wrong
 * sync password shows without marking a directory that serves logins as down.
 *
 * Its own small budget, apart from the login pools, so health checks never compete with logins and cannot be
 * used to flood the directory: at most one probe in flight (callers meanwhile share it), on a connection of
 * its own that is closed afterwards, and its result reused for {@link LDAP_HEALTH_RESULT_TTL_MS}. A probe ends
 * within the configured timeouts. The reason a probe failed is logged when the state changes, never returned.
 * The first probe that reaches the directory also checks the search base against the server's naming contexts
 * (and, as the service account, that it exists), and logs a warning naming LDAP_AUTH_SEARCH_BASE when it is off.
 * In an app that serves HTTP, the first probe runs at start-up (see {@link onApplicationBootstrap}).
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() {
 *   return this.health.check([() => this.db.pingCheck('database'), () => this.ldap.isHealthy('directory')]);
 * }
 * ```
 */
@Injectable()
export class LdapHealthIndicator implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapHealthIndicator.name);
  private inFlight?: Promise<DirectoryProbeResult>;
  private latest?: { result: DirectoryProbeResult; at: number };
  /** What was last logged ('up', or the failure's reason), so a steady state is logged once. */
  private logged?: string;
  /** Whether a probe has reached the directory, and so checked the search base (once per process). */
  private searchBaseChecked = false;
  /** Set when the app closes: a probe still running then (against a hung server) ends without a word. */
  private closed = false;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly directory: LdapDirectory,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /**
   * Probes the directory once as an app that serves HTTP starts, in the background (start-up never waits on a
   * slow directory), so a directory that cannot be reached, or a service account it refuses, is in the log with
   * its cause before the first login fails. A one-shot command (an application context: no HTTP server)
   * reports its own failures, so it is left alone.
   */
  onApplicationBootstrap(): void {
    if (!this.adapterHost?.httpAdapter) return;
    void (this.inFlight ??= this.probe(true).finally(() => (this.inFlight = undefined)));
  }

  onApplicationShutdown(): void {
    this.closed = true;
  }

  /** `{ [key]: { status: 'up', serviceAccount } }` when logins can be served, `status: 'down'` otherwise. */
  async isHealthy<const Key extends string = 'directory'>(
    key: Key = 'directory' as Key,
  ): Promise<LdapHealthIndicatorResult<Key>> {
    const { up, serviceAccount } = await this.state();
    const status = up ? 'up' : 'down';
    return { [key]: serviceAccount ? { status, serviceAccount } : { status } } as LdapHealthIndicatorResult<Key>;
  }

  /** Whether the directory answered the latest probe (a new one starts when the last is older than the TTL). */
  async isUp(): Promise<boolean> {
    return (await this.state()).up;
  }

  /** The latest probe's findings, without hosts or messages (a new probe when the last is older than the TTL). */
  async state(): Promise<LdapDirectoryHealth> {
    const latest = this.latest;
    const result =
      latest && Date.now() - latest.at < LDAP_HEALTH_RESULT_TTL_MS
        ? latest.result
        : await (this.inFlight ??= this.probe(false).finally(() => (this.inFlight = undefined)));
    if (!result.up) return { up: false };
    // In search mode every login binds as the service account first: refused, logins fail too.
    const loginsNeedIt = this.options.loginMode === 'search' && result.serviceAccount !== 'ok';
    return { up: !loginsNeedIt, serviceAccount: result.serviceAccount };
  }

  private async probe(atStartup: boolean): Promise<DirectoryProbeResult> {
    let result: DirectoryProbeResult;
    try {
      const checkSearchBase = !this.searchBaseChecked;
      result = await withDeadline(
        probeDirectory(this.options, this.directory.serviceBindCredentials(), { checkSearchBase }),
        this.options.server.urls,
      );
      if (result.up && checkSearchBase) {
        this.searchBaseChecked = true;
        if (result.searchBaseWarning) this.logger.warn(result.searchBaseWarning);
      }
    } catch (error) {
      // serviceBindCredentials() may refuse a service name the formatter cannot use.
      result = { up: false, reason: error instanceof Error ? error.message : String(error) };
    }
    this.latest = { result, at: Date.now() };
    this.log(result, atStartup);
    return result;
  }

  private log(result: DirectoryProbeResult, atStartup: boolean): void {
    const state = result.up ? `up, service account ${result.serviceAccount}` : result.reason;
    if (state === this.logged || this.closed) return;
    const previous = this.logged;
    this.logged = state;
    if (!result.up && atStartup)
      return this.logger.warn(
        `The directory cannot be reached at start-up: ${result.reason}; logins fail (503) until it answers`,
      );
    if (!result.up) return this.logger.warn(`The directory does not answer the health probe: ${result.reason}`);
    const wasUp = previous?.startsWith('up') ?? false;
    if (previous !== undefined && !wasUp)
      this.logger.log(`The directory answers the health probe again (${result.url})`);
    if (result.serviceAccountReason) {
      // In search mode every login binds as the service account first.
      const effect =
        this.options.loginMode === 'search'
          ? 'logins (search mode) and the full sync fail'
          : 'logins work, the full sync fails';
      this.logger.warn(
        `The directory answers the health probe, but the service account could not bind (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): ${result.serviceAccountReason}; ${effect}`,
      );
    } else if (wasUp) {
      this.logger.log(`The service account's state is now: ${result.serviceAccount}`);
    }
  }
}

/** The probe's result, or "down" (naming the URLs tried) when it has not answered within LDAP_HEALTH_DEADLINE_MS. */
async function withDeadline(probe: Promise<DirectoryProbeResult>, urls: string[]): Promise<DirectoryProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<DirectoryProbeResult>((resolve) => {
    const reason = `no directory server answered within ${LDAP_HEALTH_DEADLINE_MS / 1000} s (${urls.join(', ')})`;
    timer = setTimeout(() => resolve({ up: false, reason }), LDAP_HEALTH_DEADLINE_MS);
    timer.unref();
  });
  try {
    return await Promise.race([probe, late]);
  } finally {
    clearTimeout(timer);
  }
}
