import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LdapAuthModule, ldapAuthConfigWith, type LdapAuthModuleOptions } from '@nest-ldap-auth/ldap-auth';
import { DEV_DIRECTORY, DEV_SERVICE_ACCOUNT } from './dev-directory.provider.js';
import { DevDirectoryModule } from './dev-directory.module.js';

/** The demo's own LDAP_* variables: read by the demo, so not warned about as unknown to the library. */
export const DEMO_LDAP_VARIABLES = ['LDAP_DEV_DIRECTORY_LDIF', 'LDAP_ADMIN_GROUP'];

/**
 * LdapAuthModule as the demo configures it (npm start, npm run sync, npm run ldap:check): options from the
 * environment, and with no LDAP_AUTH_URL the embedded development directory and its own service account.
 */
export function demoLdapAuthModule(): DynamicModule {
  const config = ldapAuthConfigWith({ appVariables: DEMO_LDAP_VARIABLES });
  return LdapAuthModule.forRootAsync({
    imports: [ConfigModule.forFeature(config), DevDirectoryModule],
    inject: [config.KEY, DEV_DIRECTORY],
    useFactory: (options: LdapAuthModuleOptions, dev: { directory: { url: string } } | null): LdapAuthModuleOptions =>
      dev
        ? {
            ...options,
            server: { ...options.server, url: [dev.directory.url] },
            // The embedded directory's own service account (dev/directory.ldif), so `npm run sync` works too.
            serviceAccount: options.serviceAccount ?? DEV_SERVICE_ACCOUNT,
          }
        : options,
  });
}
