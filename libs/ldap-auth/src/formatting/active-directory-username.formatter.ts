import { Inject, Injectable } from '@nestjs/common';
import { UsernameFormatter } from './username-formatter.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/** Whether a domain the user typed names the configured one (`EXAMPLE` and `example.test` are one domain). */
export function sameDomain(typed: string, configured: string): boolean {
  const a = typed.toLowerCase();
  const b = configured.toLowerCase();
  return a === b || a.split('.')[0] === b || b.split('.')[0] === a;
}

/**
 * Strips `DOMAIN\` or `@domain` from what the user typed. A domain other than the configured one is refused
 * before any bind, so nobody authenticates against another domain of the forest by accident.
 */
export function stripActiveDirectoryDomain(input: string, configuredDomain: string | undefined): string {
  let name = input;
  let typedDomain: string | undefined;
  const backslash = input.indexOf('\\');
  const at = input.lastIndexOf('@');
  if (backslash > 0) {
    typedDomain = input.slice(0, backslash);
    name = input.slice(backslash + 1);
  } else if (at > 0) {
    typedDomain = input.slice(at + 1);
    name = input.slice(0, at);
  }
  if (typedDomain !== undefined && configuredDomain && !sameDomain(typedDomain, configuredDomain)) {
    throw new InvalidCredentialsError(`the typed domain "${typedDomain}" is not "${configuredDomain}"`);
  }
  if (!name) throw new InvalidCredentialsError('empty username');
  return name;
}

/** Active Directory down-level logon name: `DOMAIN\name`, or `name` when no domain is configured. */
@Injectable()
export class ActiveDirectoryUsernameFormatter extends UsernameFormatter {
  constructor(@Inject(LDAP_AUTH_RESOLVED_OPTIONS) protected readonly options: ResolvedLdapAuthOptions) {
    super();
  }

  toLookupName(input: string): string {
    return stripActiveDirectoryDomain(input, this.options.activeDirectoryDomain);
  }

  toBindName(lookupName: string): string {
    const domain = this.options.activeDirectoryDomain;
    return domain ? `${domain}\\${lookupName}` : lookupName;
  }
}

/** Active Directory user principal name: `name@domain`, or `name` when no domain is configured. */
@Injectable()
export class ActiveDirectoryPrincipalUsernameFormatter extends ActiveDirectoryUsernameFormatter {
  override toBindName(lookupName: string): string {
    const domain = this.options.activeDirectoryDomain;
    return domain ? `${lookupName}@${domain}` : lookupName;
  }
}
