import type { Provider, Type } from '@nestjs/common';
import { UsernameFormatter } from './username-formatter.js';
import { OpenLdapUsernameFormatter } from './openldap-username.formatter.js';
import {
  ActiveDirectoryPrincipalUsernameFormatter,
  ActiveDirectoryUsernameFormatter,
} from './active-directory-username.formatter.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/** The app's own formatter when it gave one, otherwise the built-in named by `usernameFormat`. */
export function usernameFormatterProvider(custom?: Type<UsernameFormatter>): Provider {
  if (custom) return { provide: UsernameFormatter, useClass: custom };
  return {
    provide: UsernameFormatter,
    inject: [LDAP_AUTH_RESOLVED_OPTIONS],
    useFactory: (options: ResolvedLdapAuthOptions): UsernameFormatter => {
      switch (options.usernameFormat) {
        case 'active_directory':
          return new ActiveDirectoryUsernameFormatter(options);
        case 'active_directory_principal':
          return new ActiveDirectoryPrincipalUsernameFormatter(options);
        default:
          return new OpenLdapUsernameFormatter(options);
      }
    },
  };
}
