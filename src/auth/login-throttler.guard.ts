import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { rawResponse, type HttpRequest, type HttpResponse } from '../http/http-platform.js';
import {
  LDAP_AUTH_RESOLVED_OPTIONS,
  ldapAuthMetrics,
  UsernameFormatter,
  type ResolvedLdapAuthOptions,
} from '@nest-ldap-auth/ldap-auth';
import { loginThrottleKeys } from './login-throttle.key.js';
import { LoginThrottleService } from './login-throttle.service.js';

/**
 * Limits failed logins per client (IPv4 address, IPv6 /64) and account, per client, and per account, before
 * any LDAP traffic: slows password guessing from one address or many, and keeps a burst of attempts from
 * locking the AD account. The account is the name the directory would look up, so other spellings of it share
 * its counters. Over a limit: 429 with Retry-After. An attempt counts as failed unless it is answered 2xx (or
 * 303, the admin login form's redirect after a login that worked).
 * (Counting is rate-limiter-flexible's, in LoginThrottleService; @nestjs/throttler 6 is CommonJS and cannot
 * load Nest 12's ES modules under Jest on Node 20.)
 */
@Injectable()
export class LoginThrottlerGuard implements CanActivate {
  constructor(
    private readonly throttle: LoginThrottleService,
    private readonly formatter: UsernameFormatter,
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    // Node's response under either adapter: its 'close' event and final status.
    const res = rawResponse(http.getResponse<HttpResponse>());
    const body = req.body as Record<string, unknown> | undefined;
    const keys = loginThrottleKeys(req.ip, body?.[this.options.usernameField], (name) =>
      this.formatter.toLookupName(name),
    );
    // 'close' comes once the answer is sent, or when the connection drops first (counted as failed: fail
    // closed). Listened to before the await, so a client gone during it still ends its attempt.
    const outcome = new Promise<boolean>((resolve) => {
      if (res.closed) return resolve(false); // gone before the guard ran: 'close' will not come again
      res.once('close', () => resolve(res.writableFinished && succeeded(res.statusCode)));
    });
    const admission = await this.throttle.begin(keys);
    if (!admission.allowed) {
      ldapAuthMetrics.recordThrottleRefusal();
      res.setHeader('Retry-After', String(admission.retryAfterSeconds));
      throw new HttpException('Too many login attempts, try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    void outcome.then((succeeded) => this.throttle.end(admission.attempt, !succeeded));
    return true;
  }
}

/** A login that worked: 2xx (POST /auth/login), or 303 (POST /admin/login sends the browser on to the page). */
function succeeded(status: number): boolean {
  return (status >= 200 && status < 300) || status === 303;
}
