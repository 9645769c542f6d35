import { type CanActivate, type ExecutionContext, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Request } from 'express';
import { appConfig } from '../config/app.config.js';

/**
 * Limits login attempts per client address and username (a fixed window, in memory), before any LDAP
 * traffic: slows password guessing, and keeps a burst of attempts from locking the AD account.
 * (@nestjs/throttler 6 is CommonJS and cannot load Nest 12's ES modules under Jest on Node 20.)
 */
@Injectable()
export class LoginThrottlerGuard implements CanActivate {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(@Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const body = req.body as Record<string, unknown> | undefined;
    const username = typeof body?.username === 'string' ? body.username.trim().toLowerCase() : '';
    const key = `${req.ip}|${username}`;
    const now = Date.now();
    if (this.windows.size > 10_000) this.prune(now);
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + this.config.loginThrottleTtlMs };
      this.windows.set(key, window);
    }
    window.count++;
    if (window.count > this.config.loginThrottleLimit) {
      throw new HttpException('Too many login attempts, try again later', HttpStatus.TOO_MANY_REQUESTS);
    }
    return true;
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}
