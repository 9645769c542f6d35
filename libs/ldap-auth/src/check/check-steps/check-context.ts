import type { ResolvedLdapAuthOptions } from '../../config/resolve-options.js';
import type { UsernameFormatter } from '../../formatting/username-formatter.js';
import type { GroupSync } from '../../group-mirroring/group-sync.js';
import type { LdapDirectory } from '../../directory/ldap-directory.js';
import { InvalidCredentialsError } from '../../errors/ldap-auth.errors.js';

/** What the check's steps work with: the library's own options and parts, so they test what the app runs. */
export interface CheckContext {
  readonly options: ResolvedLdapAuthOptions;
  readonly formatter: UsernameFormatter;
  readonly directory: LdapDirectory;
  readonly groupSync: GroupSync;
}

/** Why the directory steps are skipped when no URL could be used. */
export const NO_USABLE_URL = 'no URL of LDAP_AUTH_URL passed the connection checks above';

/** An error in a step's summary: a refused login's reason, else the message. */
export function reasonOf(error: unknown): string {
  if (error instanceof InvalidCredentialsError) return error.reason;
  return error instanceof Error ? error.message : String(error);
}
