import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { LdapConfigurationError } from '@app/ldap-auth';
import { EmbeddedDirectory } from '@app/ldap-auth/testing';

/** The directory the demo uses when LDAP_AUTH_URL is unset, or null when a real one is configured. */
export const DEV_DIRECTORY = Symbol('DEV_DIRECTORY');

export const DEFAULT_DEV_DIRECTORY_LDIF = 'dev/directory.ldif';

/** The service account seeded in dev/directory.ldif (public, like every password there). */
export const DEV_SERVICE_ACCOUNT = {
  username: 'cn=ldap-sync,ou=services,dc=example,dc=com',
  password: 'sync-password',
};

/** Stops the embedded directory with the app. */
class DevDirectoryHandle implements OnApplicationShutdown {
  constructor(readonly directory: EmbeddedDirectory) {}

  async onApplicationShutdown(): Promise<void> {
    await this.directory.stop();
  }
}

export const devDirectoryProvider: Provider = {
  provide: DEV_DIRECTORY,
  useFactory: async (): Promise<DevDirectoryHandle | null> => {
    if (process.env.LDAP_AUTH_URL?.trim()) return null;
    if (process.env.NODE_ENV === 'production') {
      throw new LdapConfigurationError([
        'LDAP_AUTH_URL is required when NODE_ENV=production (the embedded development directory is for development only)',
      ]);
    }
    const ldifPath = process.env.LDAP_DEV_DIRECTORY_LDIF?.trim() || DEFAULT_DEV_DIRECTORY_LDIF;
    const directory = await EmbeddedDirectory.start({ ldifPath });
    new Logger('DevDirectory').warn(
      `LDAP_AUTH_URL is not set: using the EMBEDDED DEVELOPMENT DIRECTORY at ${directory.url} seeded from ${ldifPath}. ` +
        'Its users and passwords are public (see README). Never use it in production.',
    );
    return new DevDirectoryHandle(directory);
  },
};
