import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import { LDAP_AUTH_RESOLVED_OPTIONS, LDAP_STRATEGY_NAME } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapLoginService } from '../login/ldap-login.service.js';
import { MalformedLoginRequestError } from '../errors/ldap-auth.errors.js';
import type { AppUser } from '../interfaces/app-user.interface.js';

type Verify = (username: string, password: string, done: (error: unknown, user?: unknown) => void) => void;

/**
 * A plain Passport strategy: reads the two body fields and hands them to `verify`. The LDAP work is in
 * LdapLoginService; this class only speaks Passport.
 */
export class LdapPassportStrategy extends passport.Strategy {
  override name = LDAP_STRATEGY_NAME;

  constructor(
    private readonly fields: { usernameField: string; passwordField: string },
    private readonly verify: Verify,
  ) {
    super();
  }

  /** `req` is the adapter's request, Express's or Fastify's: both carry the parsed `body`. */
  override authenticate(req: { body?: unknown }): void {
    const body: unknown = req.body;
    const record = body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
    const username = record?.[this.fields.usernameField];
    const password = record?.[this.fields.passwordField];
    if (typeof username !== 'string' || typeof password !== 'string') {
      this.error(
        new MalformedLoginRequestError(
          `the body must be JSON with string fields "${this.fields.usernameField}" and "${this.fields.passwordField}"`,
        ),
      );
      return;
    }
    this.verify(username, password, (error, user) => {
      if (error) this.error(error);
      else if (!user) this.fail(401);
      else this.success(user);
    });
  }
}

/** The strategy behind `LdapGuard`, registered with Passport as `ldap`. */
@Injectable()
export class LdapStrategy extends PassportStrategy(LdapPassportStrategy, LDAP_STRATEGY_NAME) {
  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) options: ResolvedLdapAuthOptions,
    private readonly loginService: LdapLoginService,
  ) {
    super({ usernameField: options.usernameField, passwordField: options.passwordField });
  }

  validate(username: string, password: string): Promise<AppUser> {
    return this.loginService.login(username, password);
  }
}
