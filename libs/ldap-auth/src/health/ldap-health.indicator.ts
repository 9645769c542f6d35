import { Inject, Injectable, Logger } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { probeDirectory, type DirectoryProbeResult } from '../directory/ldap-health-probe.js';

/** How long a probe's result answers every health check before the directory is asked again. */
export const LDAP_HEALTH_RESULT_TTL_MS = 3_000;

/**
 * What {@link LdapHealthIndicator.isHealthy} returns: `{ [key]: { status: 'up' | 'down' } }`, the shape of
 * `@nestjs/terminus`'s `HealthIndicatorResult` (so it goes straight into `HealthCheckService.check`), without
 * the library depending on terminus. It never holds a reason: hosts and LDAP messages go to the log only.
 */
export type LdapHealthIndicatorResult<Key extends string = 'directory'> = Record<Key, { status: 'up' | 'down' }>;

/**
 * Whether the directory answers, for health endpoints: connect, then bind as the service account when one is
 * configured (so a wrong or locked service password shows), or read the root DSE when there is none.
 *
 * Its own small budget, apart from the login pools, so health checks never compete with logins and cannot be
 * used to flood the directory: at most one probe in flight (callers meanwhile share it), on a connection of
 * its own that is closed afterwards, and its result reused for {@link LDAP_HEALTH_RESULT_TTL_MS}. A probe ends
 * within the configured timeouts. The reason a probe failed is logged when the state changes, never returned.
 * The first probe that reaches the directory also checks the search base against the server's naming contexts
 * (and, as the service account, that it exists), and logs a warning naming LDAP_AUTH_SEARCH_BASE when it is off.
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() {
 *   return this.health.check([() => this.db.pingCheck('database'), () => this.ldap.isHealthy('directory')]);
 * }
 * ```
 */
@Injectable()
export class LdapHealthIndicator {
  private readonly logger = new Logger(LdapHealthIndicator.name);
  private inFlight?: Promise<DirectoryProbeResult>;
  private latest?: { result: DirectoryProbeResult; at: number };
  /** What was last logged ('up', or the failure's reason), so a steady state is logged once. */
  private logged?: string;
  /** Whether a probe has reached the directory, and so checked the search base (once per process). */
  private searchBaseChecked = false;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly directory: LdapDirectory,
  ) {}

  /** `{ [key]: { status: 'up' } }` when the directory answers, `{ [key]: { status: 'down' } }` otherwise. */
  async isHealthy<const Key extends string = 'directory'>(
    key: Key = 'directory' as Key,
  ): Promise<LdapHealthIndicatorResult<Key>> {
    const status = (await this.isUp()) ? 'up' : 'down';
    return { [key]: { status } } as LdapHealthIndicatorResult<Key>;
  }

  /** Whether the directory answered the latest probe (a new one starts when the last is older than the TTL). */
  async isUp(): Promise<boolean> {
    const latest = this.latest;
    if (latest && Date.now() - latest.at < LDAP_HEALTH_RESULT_TTL_MS) return latest.result.up;
    this.inFlight ??= this.probe().finally(() => (this.inFlight = undefined));
    return (await this.inFlight).up;
  }

  private async probe(): Promise<DirectoryProbeResult> {
    let result: DirectoryProbeResult;
    try {
      const checkSearchBase = !this.searchBaseChecked;
      result = await probeDirectory(this.options, this.directory.serviceBindCredentials(), { checkSearchBase });
      if (result.up && checkSearchBase) {
        this.searchBaseChecked = true;
        if (result.searchBaseWarning) this.logger.warn(result.searchBaseWarning);
      }
    } catch (error) {
      // serviceBindCredentials() may refuse a service name the formatter cannot use.
      result = { up: false, reason: error instanceof Error ? error.message : String(error) };
    }
    this.latest = { result, at: Date.now() };
    this.log(result);
    return result;
  }

  private log(result: DirectoryProbeResult): void {
    const state = result.up ? 'up' : result.reason;
    if (state === this.logged) return;
    const first = this.logged === undefined;
    this.logged = state;
    if (!result.up) this.logger.warn(`The directory does not answer the health probe: ${result.reason}`);
    else if (!first) this.logger.log(`The directory answers the health probe again (${result.url})`);
  }
}
