import { Body, Controller, Get, Inject, NotFoundException, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { seeOther, sendResponse, type HttpRequest, type HttpResponse } from '../http/http-platform.js';
import {
  adminPage,
  html,
  InvalidCredentialsError,
  LDAP_AUTH_RESOLVED_OPTIONS,
  LdapLoginService,
  type ResolvedLdapAuthOptions,
} from '@nest-ldap-auth/ldap-auth';
import { appConfig } from '../config/app.config.js';
import { LoginThrottlerGuard } from '../auth/login-throttler.guard.js';
import { AdminSessions } from './admin-sessions.js';

type Form = Record<string, unknown> | undefined;

/**
 * The admin page's browser login: a form posting to the same LDAP login as POST /auth/login (LdapLoginService,
 * behind the same throttle), which sets the signed session cookie. Off (404) without LDAP_ADMIN_GROUP.
 */
@Controller('admin')
export class AdminLoginController {
  constructor(
    @Inject(appConfig.KEY) private readonly config: ConfigType<typeof appConfig>,
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly sessions: AdminSessions,
    private readonly logins: LdapLoginService,
  ) {}

  @Get('login')
  form(@Res() res: HttpResponse): void {
    this.render(res, 200);
  }

  @Post('login')
  @UseGuards(LoginThrottlerGuard)
  async login(@Req() req: HttpRequest, @Res() res: HttpResponse, @Body() body: Form): Promise<void> {
    this.ensureOn();
    if (!this.sessions.loginTokenMatches(req, body?._csrf))
      return this.render(res, 403, 'The form expired: try again.');
    const { usernameField, passwordField } = this.options;
    try {
      const user = await this.logins.login(body?.[usernameField], body?.[passwordField]);
      // 303: the throttle counts it as a success (see LoginThrottlerGuard); the page checks the admin group.
      seeOther(res, '/admin/ldap', { 'Set-Cookie': this.sessions.start(user.id) });
    } catch (error) {
      // The reason is in the log (LdapLoginService); the form says no more than POST /auth/login does.
      if (error instanceof InvalidCredentialsError) return this.render(res, 401, 'Wrong username or password.');
      throw error;
    }
  }

  @Post('logout')
  logout(@Req() req: HttpRequest, @Res() res: HttpResponse, @Body() body: Form): void {
    this.ensureOn();
    const token = this.sessions.tokenFor(req);
    seeOther(res, '/admin/login', token && body?._csrf === token ? { 'Set-Cookie': this.sessions.end() } : {});
  }

  private ensureOn(): void {
    if (!this.config.adminGroup) throw new NotFoundException();
  }

  private render(res: HttpResponse, status: number, error?: string): void {
    this.ensureOn();
    const { setCookie, token } = this.sessions.loginNonce();
    const { usernameField, passwordField } = this.options;
    const body = html`<section class="login">
      <h2>Sign in with your directory account</h2>
      ${error ? html`<p class="error">${error}</p>` : ''}
      <form method="post" action="/admin/login">
        <input type="hidden" name="_csrf" value="${token}" />
        <p>
          <label
            >Username<br /><input type="text" name="${usernameField}" autocomplete="username" required autofocus
          /></label>
        </p>
        <p>
          <label
            >Password<br /><input type="password" name="${passwordField}" autocomplete="current-password" required
          /></label>
        </p>
        <p><button type="submit">Sign in</button></p>
      </form>
      <p class="muted">Members of LDAP_ADMIN_GROUP only.</p>
    </section>`;
    const headers = { 'Set-Cookie': setCookie, 'Content-Type': 'text/html; charset=utf-8' };
    sendResponse(res, status, headers, adminPage('LDAP admin', body));
  }
}
