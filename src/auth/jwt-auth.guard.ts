import {
  type CanActivate,
  type ExecutionContext,
  Injectable,
  Logger,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { HttpRequest } from '../http/http-platform.js';
import { DatabaseUnavailableError, LdapLoginService } from '@nest-ldap-auth/ldap-auth';

/** Accepts `Authorization: Bearer <token>` for a user who still exists and is active. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly logger = new Logger(JwtAuthGuard.name);

  constructor(
    private readonly jwt: JwtService,
    private readonly logins: LdapLoginService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException();
    let payload: { sub?: string };
    try {
      payload = await this.jwt.verifyAsync<{ sub?: string }>(token);
    } catch {
      throw new UnauthorizedException();
    }
    const user = payload.sub ? await this.findActiveUser(Number(payload.sub)) : null;
    if (!user) throw new UnauthorizedException();
    req.user = user;
    return true;
  }

  /** A lost database connection is a 503 and one log line, not a 500 with a stack trace. */
  private async findActiveUser(id: number) {
    try {
      return await this.logins.findActiveUser(id);
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      this.logger.error(`Token check for user ${id} failed: ${error.message}: answered 503`);
      throw new ServiceUnavailableException('The database is unavailable, try again later');
    }
  }
}
