import { registerAs } from '@nestjs/config';
import { ldapAuthOptionsFromEnvironment } from './ldap-environment.js';

/**
 * `@nestjs/config` namespace with the module's options read from the environment:
 * `LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider())`, or inject `ldapAuthConfig.KEY`.
 */
export const ldapAuthConfig = registerAs('ldapAuth', () => ldapAuthOptionsFromEnvironment(process.env));
