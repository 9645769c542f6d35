import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Request } from 'express';
import { LdapLoginService } from '@nest-ldap-auth/ldap-auth';

/** Accepts `Authorization: Bearer <token>` for a user who still exists and is active. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly jwt: JwtService,
    private readonly logins: LdapLoginService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException();
    let payload: { sub?: string };
    try {
      payload = await this.jwt.verifyAsync<{ sub?: string }>(token);
    } catch {
      throw new UnauthorizedException();
    }
    const user = payload.sub ? await this.logins.findActiveUser(Number(payload.sub)) : null;
    if (!user) throw new UnauthorizedException();
    req.user = user;
    return true;
  }
}
