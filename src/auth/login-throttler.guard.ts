import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { LDAP_AUTH_RESOLVED_OPTIONS, UsernameFormatter, type ResolvedLdapAuthOptions } from '@nest-ldap-auth/ldap-auth';
import { loginThrottleKey } from './login-throttle.key.js';
import { LoginThrottleService } from './login-throttle.service.js';

/**
 * Limits login attempts per client (IPv4 address, IPv6 /64) and account, before any LDAP traffic: slows
 * password guessing, and keeps a burst of attempts from locking the AD account. The account is the name the
 * directory would look up, so other spellings of it share its bucket. Over the limit: 429 with Retry-After.
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
    const req = http.getRequest<Request>();
    const body = req.body as Record<string, unknown> | undefined;
    const key = loginThrottleKey(req.ip, body?.[this.options.usernameField], (name) =>
      this.formatter.toLookupName(name),
    );
    const decision = await this.throttle.consume(key);
    if (decision.allowed) return true;
    http.getResponse<Response>().setHeader('Retry-After', String(decision.retryAfterSeconds));
    throw new HttpException('Too many login attempts, try again later', HttpStatus.TOO_MANY_REQUESTS);
  }
}
