import { Inject, Injectable } from '@nestjs/common';
import { UsernameFormatter } from './username-formatter.js';
import { escapeDnValue } from '../model/ldap-escape.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/**
 * OpenLDAP: binds as `<username attribute>=<escaped name>,<search base>` (`uid=alice,ou=people,dc=example,dc=com`).
 * The typed name is used as it is: on OpenLDAP a uid may legitimately contain `@` or `\`.
 */
@Injectable()
export class OpenLdapUsernameFormatter extends UsernameFormatter {
  constructor(@Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions) {
    super();
  }

  toLookupName(input: string): string {
    return input;
  }

  toBindName(lookupName: string): string {
    return `${this.options.userFields.username}=${escapeDnValue(lookupName)},${this.options.server.searchBase}`;
  }
}
