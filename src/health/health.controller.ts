import { Controller, Get, Logger, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { LdapHealthIndicator } from '@nest-ldap-auth/ldap-auth';

/** A database that does not answer `SELECT 1` within this is down. */
const DATABASE_TIMEOUT_MS = 3_000;
/** A failure that stays the same is logged again after this long. */
const REPEAT_LOG_MS = 60_000;

type Status = HealthCheckResult['status'];
type Section = Record<string, { status: string; serviceAccount?: string }>;

/** What anyone may see: terminus' shape, each component's status only (no error text, hosts or timings). */
export interface PublicHealth {
  status: Status;
  info: Section;
  error: Section;
  details: Section;
}

/**
 * `GET /health`, unauthenticated: 200 when what serves logins answers (the database, and the directory's root
 * DSE read), 503 otherwise. The body is `{"status":"ok|error","info":{…},"error":{…},"details":{…}}` with
 * `{"status":"up|down"}` per component; `details.directory.serviceAccount` adds the sync's service account
 * state ('ok', 'not configured', 'no answer' or 'refused: <result code>'), which does not make the app
 * unhealthy. Why a component is down (database errors, directory hosts and messages) goes to the log only.
 * The directory probe has its own budget (LdapHealthIndicator): one probe in flight, its result reused for a
 * few seconds, so this endpoint can be polled hard without reaching the directory more than that.
 */
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');
  private lastLogged?: { text: string; at: number };

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly directory: LdapHealthIndicator,
  ) {}

  @Get()
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  async check(): Promise<PublicHealth> {
    let result: HealthCheckResult;
    try {
      result = await this.health.check([
        () => this.database.pingCheck('database', { timeout: DATABASE_TIMEOUT_MS }),
        () => this.directory.isHealthy('directory'),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const failed = error.getResponse() as HealthCheckResult;
      this.logFailure(failed);
      throw new ServiceUnavailableException(publicView(failed));
    }
    return publicView(result);
  }

  /** The failing components with their messages, once per change (and again every minute while it lasts). */
  private logFailure(result: HealthCheckResult): void {
    const text = Object.entries(result.error ?? {})
      .map(([key, value]) => {
        const message = (value as { message?: unknown }).message;
        return typeof message === 'string' ? `${key} down (${message})` : `${key} down`;
      })
      .join(', ');
    const now = Date.now();
    if (this.lastLogged?.text === text && now - this.lastLogged.at < REPEAT_LOG_MS) return;
    this.lastLogged = { text, at: now };
    this.logger.warn(`Health check failed: ${text || result.status}`);
  }
}

function publicView(result: HealthCheckResult): PublicHealth {
  return {
    status: result.status,
    info: statusesOf(result.info),
    error: statusesOf(result.error),
    details: statusesOf(result.details, true),
  };
}

/** Each component's status; with `full`, also the directory's service account state (a code, no message). */
function statusesOf(section: Partial<HealthIndicatorResult> | undefined, full = false): Section {
  return Object.fromEntries(
    Object.entries(section ?? {}).flatMap(([key, value]) => {
      if (!value) return [];
      const account: unknown = value.serviceAccount;
      const shown = full && typeof account === 'string' ? { status: value.status, serviceAccount: account } : null;
      return [[key, shown ?? { status: value.status }]];
    }),
  );
}
