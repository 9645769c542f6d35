import {
  applyDecorators,
  Body,
  ForbiddenException,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Req,
} from '@nestjs/common';
import { LdapAdminService } from './ldap-admin.service.js';
import { csrfMatches, LdapAdminCsrf } from './ldap-admin-csrf.js';
import { type AdminSignOut, adminPage, LDAP_ADMIN_HEADERS } from './admin-layout.js';
import { directorySection } from './directory-view.js';
import { previewSection, runSection, syncSection } from './sync-view.js';
import { userTestResult, userTestSection } from './user-test-view.js';
import { html } from './html.js';

/** Where LdapAdminModule's options are injected. */
export const LDAP_ADMIN_OPTIONS = Symbol('LDAP_ADMIN_OPTIONS');

/** The options the controller uses (the module's, resolved). */
export interface LdapAdminPageOptions {
  /** The page's path, without leading or trailing slash ("admin/ldap"). */
  path: string;
  title: string;
  /** The app's sign-out route (LdapAdminModuleOptions.signOut). */
  signOut?: string;
}

/** Every page: HTML, and the security headers (CSP, nosniff, no-store...). */
const HtmlPage = () =>
  applyDecorators(
    Header('Content-Type', 'text/html; charset=utf-8'),
    ...Object.entries(LDAP_ADMIN_HEADERS).map(([name, value]) => Header(name, value)),
  );

/** A form's fields as the body parser left them (urlencoded: strings). */
type FormBody = Record<string, unknown> | undefined;

/**
 * The admin page's routes, relative to the path LdapAdminModule mounts them on (a subclass per module, with
 * the app's guards). Plain Nest handlers returning HTML strings: no adapter-specific call, so Express or
 * Fastify alike (a form body needs the adapter's urlencoded parser, on by default in Express).
 */
export class LdapAdminController {
  constructor(
    @Inject(LDAP_ADMIN_OPTIONS) private readonly options: LdapAdminPageOptions,
    private readonly admin: LdapAdminService,
    private readonly csrf: LdapAdminCsrf,
  ) {}

  private get base(): string {
    return `/${this.options.path}`;
  }

  private token(request: unknown): string {
    return this.csrf.tokenFor(request) ?? '';
  }

  /** The header's sign-out button, when the app named its route and the request has a session. */
  private signOut(request: unknown): AdminSignOut | undefined {
    const csrf = this.csrf.tokenFor(request);
    return this.options.signOut && csrf ? { action: this.options.signOut, csrf } : undefined;
  }

  /** Refuses a POST without its session's CSRF token, before anything runs. */
  private checkCsrf(request: unknown, body: FormBody): void {
    if (!csrfMatches(this.csrf.tokenFor(request), body?._csrf)) {
      throw new ForbiddenException('missing or wrong CSRF token: reload the page and try again');
    }
  }

  @Get()
  @HtmlPage()
  async overview(@Req() request: unknown): Promise<string> {
    const csrf = this.token(request);
    const [facts, sync] = await Promise.all([this.admin.directoryFacts(), this.admin.syncOverview()]);
    const body = html`<div class="grid">
      ${directorySection(facts)}
      <div>${userTestSection(this.base, csrf)}${syncSection(sync, this.base, csrf)}</div>
    </div>`;
    return adminPage(this.options.title, body, undefined, this.signOut(request));
  }

  @Get('runs/:id')
  @HtmlPage()
  async run(@Req() request: unknown, @Param('id') id: string): Promise<string> {
    const run = /^\d{1,15}$/.test(id) ? await this.admin.syncRun(Number(id)) : null;
    if (!run) throw new NotFoundException(`no sync run ${id.slice(0, 20)}`);
    const title = `${this.options.title}: sync run #${run.id}`;
    return adminPage(title, runSection(run), this.base, this.signOut(request));
  }

  @Post('preview')
  @HttpCode(200)
  @HtmlPage()
  async preview(@Req() request: unknown, @Body() body: FormBody): Promise<string> {
    this.checkCsrf(request, body);
    const report = await this.admin.preview();
    const section = previewSection(report, this.base);
    return adminPage(`${this.options.title}: sync preview`, section, this.base, this.signOut(request));
  }

  @Post('test-user')
  @HttpCode(200)
  @HtmlPage()
  async testUser(@Req() request: unknown, @Body() body: FormBody): Promise<string> {
    this.checkCsrf(request, body);
    const name = typeof body?.username === 'string' ? body.username : '';
    const password = typeof body?.password === 'string' ? body.password : undefined;
    const report = await this.admin.testUser(name, password);
    const section = userTestResult(report, this.base, this.token(request));
    return adminPage(`${this.options.title}: test a user`, section, this.base, this.signOut(request));
  }
}
