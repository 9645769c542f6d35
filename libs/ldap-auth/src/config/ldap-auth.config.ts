import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { LDAP_AUTH_VARIABLES, ldapAuthOptionsFromEnvironment } from './ldap-environment.js';
import { unknownVariableWarnings } from './unknown-variables.js';

/**
 * `ldapAuthConfig`, for an app that reads LDAP_* variables of its own: `appVariables` are not warned about as
 * unknown (see {@link ldapAuthConfig}). Same namespace and `KEY`.
 */
export function ldapAuthConfigWith({ appVariables = [] }: { appVariables?: readonly string[] } = {}) {
  return registerAs('ldapAuth', () => {
    // Warned before the options are read: a misspelt name is ignored there, never refused.
    const known = [...LDAP_AUTH_VARIABLES, ...appVariables];
    const logger = new Logger('LdapAuthConfig');
    for (const warning of unknownVariableWarnings(process.env, known)) logger.warn(warning);
    return ldapAuthOptionsFromEnvironment(process.env);
  });
}

/**
 * `@nestjs/config` namespace with the module's options read from the environment:
 * `LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider())`, or inject `ldapAuthConfig.KEY`. Each LDAP_*
 * variable the library does not read is logged as a warning, with the known name it is closest to.
 */
export const ldapAuthConfig = ldapAuthConfigWith();
