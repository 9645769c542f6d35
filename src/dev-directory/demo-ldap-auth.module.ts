import type { DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { LdapAuthModule, ldapAuthConfig, type LdapAuthModuleOptions } from '@nest-ldap-auth/ldap-auth';
import { DEV_DIRECTORY, DEV_SERVICE_ACCOUNT } from './dev-directory.provider.js';
import { DevDirectoryModule } from './dev-directory.module.js';

/**
 * LdapAuthModule as the demo configures it (npm start, npm run sync, npm run ldap:check): options from the
 * environment, and with no LDAP_AUTH_URL the embedded development directory and its own service account.
 */
export function demoLdapAuthModule(): DynamicModule {
  return LdapAuthModule.forRootAsync({
    imports: [ConfigModule.forFeature(ldapAuthConfig), DevDirectoryModule],
    inject: [ldapAuthConfig.KEY, DEV_DIRECTORY],
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
