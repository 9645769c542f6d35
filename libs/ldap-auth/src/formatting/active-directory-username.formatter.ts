import { Inject, Injectable } from '@nestjs/common';
import { UsernameFormatter } from './username-formatter.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import { parseDn } from '../model/dn.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/**
 * The DNS name spelled by the trailing `DC=` components of a DN (`CN=Users,DC=example,DC=test` →
 * `example.test`), or undefined when the DN does not end in any.
 */
export function dnsDomainOfDn(dn: string): string | undefined {
  let rdns;
  try {
    rdns = parseDn(dn);
  } catch {
    return undefined;
  }
  const labels: string[] = [];
  for (let i = rdns.length - 1; i >= 0; i--) {
    const rdn = rdns[i];
    if (rdn.length !== 1 || rdn[0].type !== 'dc' || !rdn[0].value) break;
    labels.unshift(rdn[0].value.toLowerCase());
  }
  return labels.length ? labels.join('.') : undefined;
}

/**
 * Whether a domain the user typed names the configured one. Only exact names count (case-insensitively):
 * - the configured name itself;
 * - configured as a DNS name (`example.test`): also its first label as the NetBIOS name (`EXAMPLE`);
 * - configured as a NetBIOS name (`EXAMPLE`): also `knownDnsDomain`, the DNS name the search base spells
 *   (`DC=example,DC=test`). Without it no DNS name can be verified, so none is accepted.
 * `example.evil.com` never matches `EXAMPLE`: comparing first labels of a typed DNS name would let any
 * domain that starts with the same word through.
 */
export function sameDomain(typed: string, configured: string, knownDnsDomain?: string): boolean {
  const a = typed.toLowerCase();
  const b = configured.toLowerCase();
  if (a === b) return true;
  if (b.includes('.')) return !a.includes('.') && a === b.split('.')[0];
  return knownDnsDomain !== undefined && a === knownDnsDomain.toLowerCase();
}

/**
 * Strips `DOMAIN\` or `@domain` from what the user typed. A domain other than the configured one is refused
 * before any bind, so nobody authenticates against another domain of the forest by accident.
 */
export function stripActiveDirectoryDomain(
  input: string,
  configuredDomain: string | undefined,
  knownDnsDomain?: string,
): string {
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
  if (typedDomain !== undefined && configuredDomain && !sameDomain(typedDomain, configuredDomain, knownDnsDomain)) {
    throw new InvalidCredentialsError(
      `the typed domain "${typedDomain}" is not "${configuredDomain}"`,
      'invalid_input',
    );
  }
  if (!name) throw new InvalidCredentialsError('empty username', 'invalid_input');
  return name;
}

/** Active Directory down-level logon name: `DOMAIN\name`, or `name` when no domain is configured. */
@Injectable()
export class ActiveDirectoryUsernameFormatter extends UsernameFormatter {
  /** The DNS name of the searched domain, which also names a NetBIOS-configured domain. */
  private readonly dnsDomain: string | undefined;

  constructor(@Inject(LDAP_AUTH_RESOLVED_OPTIONS) protected readonly options: ResolvedLdapAuthOptions) {
    super();
    this.dnsDomain = dnsDomainOfDn(options.server.searchBase);
  }

  toLookupName(input: string): string {
    return stripActiveDirectoryDomain(input, this.options.activeDirectoryDomain, this.dnsDomain);
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
