import { readFileSync } from 'node:fs';
import { Logger, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { LdapConfigurationError } from '@nest-ldap-auth/ldap-auth';
import type { EmbeddedDirectory } from '@nest-ldap-auth/ldap-auth/testing';
import { AppConfigurationError } from '../config/app.config.js';

/** The directory the demo uses when LDAP_AUTH_URL is unset, or null when a real one is configured. */
export const DEV_DIRECTORY = Symbol('DEV_DIRECTORY');

export const DEFAULT_DEV_DIRECTORY_LDIF = 'dev/directory.ldif';

export const PRODUCTION_NEEDS_DIRECTORY_URL =
  'LDAP_AUTH_URL is required when NODE_ENV=production (the embedded development directory is for development only)';

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

function ldifPathOf(env: Record<string, string | undefined>): string {
  return env.LDAP_DEV_DIRECTORY_LDIF?.trim() || DEFAULT_DEV_DIRECTORY_LDIF;
}

/** `./testing` loads ldapjs and the embedded server: only a process that starts that server imports it. */
const testingKit = () => import('@nest-ldap-auth/ldap-auth/testing');

/** The LDIF text of the embedded directory, or an AppConfigurationError naming LDAP_DEV_DIRECTORY_LDIF. */
async function readDevDirectoryLdif(env: Record<string, string | undefined>): Promise<string> {
  const path = ldifPathOf(env);
  const which = env.LDAP_DEV_DIRECTORY_LDIF?.trim() ? '' : ' (the default)';
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (error as Error).message;
    throw new AppConfigurationError([
      `LDAP_DEV_DIRECTORY_LDIF: cannot read ${path}${which} (${why}); it must be an LDIF file for the embedded development directory, or set LDAP_AUTH_URL to use a real directory`,
    ]);
  }
  const { parseLdif } = await testingKit();
  try {
    parseLdif(text);
  } catch (error) {
    throw new AppConfigurationError([
      `LDAP_DEV_DIRECTORY_LDIF: ${path}${which} is not valid LDIF (${(error as Error).message})`,
    ]);
  }
  return text;
}

/** What is wrong with LDAP_DEV_DIRECTORY_LDIF (when the embedded directory will be used), or undefined. */
export async function devDirectoryLdifProblem(env: Record<string, string | undefined>): Promise<string | undefined> {
  try {
    await readDevDirectoryLdif(env);
    return undefined;
  } catch (error) {
    return (error as AppConfigurationError).problems[0];
  }
}

export const devDirectoryProvider: Provider = {
  provide: DEV_DIRECTORY,
  useFactory: async (): Promise<DevDirectoryHandle | null> => {
    if (process.env.LDAP_AUTH_URL?.trim()) return null;
    if (process.env.NODE_ENV === 'production') throw new LdapConfigurationError([PRODUCTION_NEEDS_DIRECTORY_URL]);
    const ldifPath = ldifPathOf(process.env);
    const ldif = await readDevDirectoryLdif(process.env);
    const { EmbeddedDirectory } = await testingKit();
    const directory = await EmbeddedDirectory.start({ ldif });
    new Logger('DevDirectory').warn(
      `LDAP_AUTH_URL is not set: using the EMBEDDED DEVELOPMENT DIRECTORY at ${directory.url} seeded from ${ldifPath}. ` +
        'Its users and passwords are public (see README). Never use it in production.',
    );
    return new DevDirectoryHandle(directory);
  },
};
