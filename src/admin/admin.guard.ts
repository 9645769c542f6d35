import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  type ExceptionFilter,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { seeOther, type HttpRequest, type HttpResponse } from '../http/http-platform.js';
import { LdapAdminService, LdapLoginService, oneLine } from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';
import { AdminSessions } from './admin-sessions.js';

/** No admin session: a browser is sent to the login form (AdminLoginRedirect turns this into a 303). */
export class AdminLoginRequired extends Error {}

/**
 * Who may see /admin/ldap: LDAP_ADMIN_GROUP unset, nobody (404, as if there were no page); no valid session,
 * the login form; a session whose user is gone or deactivated, the login form; a user who is not, now, a
 * member of LDAP_ADMIN_GROUP in the directory, 403. Membership is read from the directory on every request
 * (LdapAdminService.isMember: the service account, the library's strict DN matching), not from the mirrored
 * groups: LDAP_ADMIN_GROUP need not be a synced group, and removing someone from it takes effect at once.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly logger = new Logger(AdminGuard.name);

  constructor(
    @Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>,
    private readonly sessions: AdminSessions,
    private readonly logins: LdapLoginService,
    private readonly admin: LdapAdminService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const group = this.config.adminGroup;
    if (!group) throw new NotFoundException();
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const session = this.sessions.read(req);
    if (!session) throw new AdminLoginRequired();
    let member: boolean;
    let username: string;
    try {
      const user = await this.logins.findActiveUser(session.userId);
      if (!user) throw new AdminLoginRequired();
      username = user.username;
      member = await this.admin.isMember(user.username, group);
    } catch (error) {
      if (error instanceof AdminLoginRequired) throw error;
      this.logger.error(oneLine(`Admin page: cannot check LDAP_ADMIN_GROUP membership: ${String(error)}`));
      throw new ServiceUnavailableException('cannot check the admin group now, try again later');
    }
    if (!member) {
      this.logger.warn(`Admin page refused to ${JSON.stringify(username)}: not a member of LDAP_ADMIN_GROUP`);
      throw new ForbiddenException(`only members of ${group} may use this page`);
    }
    return true;
  }
}

/** Sends a browser without an admin session to the login form. */
@Catch(AdminLoginRequired)
export class AdminLoginRedirect implements ExceptionFilter {
  catch(_error: AdminLoginRequired, host: ArgumentsHost): void {
    seeOther(host.switchToHttp().getResponse<HttpResponse>(), '/admin/login');
  }
}
