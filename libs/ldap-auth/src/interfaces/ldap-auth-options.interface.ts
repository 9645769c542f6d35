import type { ConnectionOptions } from 'node:tls';

/** How a typed username becomes the name the directory binds with. */
export type UsernameFormat = 'openldap' | 'active_directory' | 'active_directory_principal';

/** What happens to the app's groups at every login. */
export type GroupSyncMode = 'none' | 'sync_user_groups';

/**
 * `bind`: bind as the user with the formatted username, then read the user's own entry (the original's way).
 * `search`: find the entry with the service account, then bind as its DN (users in sub-OUs, login by email).
 */
export type LoginMode = 'bind' | 'search';

/**
 * Where group membership is read from.
 * `memberOf`: the user's `memberOf` attribute (AD, OpenLDAP with the memberof overlay).
 * `member` / `uniqueMember` / `memberUid`: search groups (`groupOfNames`, `groupOfUniqueNames`, `posixGroup`).
 * `auto`: `memberOf` when the user entry carries it, otherwise a search on `member`.
 */
export type GroupMembershipSource = 'auto' | 'memberOf' | 'member' | 'uniqueMember' | 'memberUid';

export type RemovedUsersPolicy = 'delete' | 'deactivate';

/** App field → LDAP attribute. */
export interface LdapUserFieldMap {
  /** Attribute holding the login name (`uid`, `sAMAccountName`). Required. */
  username: string;
  email?: string;
  firstName?: string;
  lastName?: string;
}

/** Connection and lookup settings; the names follow passport-ldapauth's `server` options on purpose. */
export interface LdapServerOptions {
  /** One or more `ldap://` / `ldaps://` URLs, tried in order when one cannot be reached. */
  url: string | string[];
  /** StartTLS on `ldap://` URLs. If it fails nothing is sent. @default false */
  starttls?: boolean;
  /** TLS options (`ca`, `rejectUnauthorized`, `servername`) for `ldaps://` and StartTLS. Certificates are verified by default. */
  tlsOptions?: ConnectionOptions;
  /** Service account DN, used verbatim (see also `serviceAccount`, which goes through the username formatter). */
  bindDN?: string;
  /** Service account password. */
  bindCredentials?: string;
  /** Where users are looked up. @default 'ou=people,dc=example,dc=com' */
  searchBase?: string;
  /**
   * Filter for finding a user; `{{username}}` is replaced by the RFC 4515-escaped name.
   * @default `(&(objectClass=<objectClass>)(<username attribute>={{username}}))`
   */
  searchFilter?: string;
  /** Extra attributes to read from the user's entry (the mapped fields are always read). */
  searchAttributes?: string[];
  /**
   * Where groups are searched when membership is not read from `memberOf`.
   * @default the parent of `searchBase`, but never above the server's naming context that holds it
   */
  groupSearchBase?: string;
  /** Milliseconds an operation may take. @default 10000 */
  timeout?: number;
  /** Milliseconds to open a connection (TCP and TLS). @default 5000 */
  connectTimeout?: number;
  /** Connections kept open per pool (one for user binds, one for the service account). @default 8 */
  poolSize?: number;
  /** Requests that may wait for a busy pool; one more is refused at once (503). @default 100 */
  poolMaxWaiting?: number;
  /** Milliseconds a request may wait for a pooled connection before it is refused (503). @default 5000 */
  poolWaitTimeout?: number;
}

/** Options of {@link LdapAuthModule.forRoot}. Defaults are applied in one place: `resolveLdapAuthOptions`. */
export interface LdapAuthModuleOptions {
  server: LdapServerOptions;
  /** Body field holding the username. @default 'username' */
  usernameField?: string;
  /** Body field holding the password. @default 'password' */
  passwordField?: string;
  /** objectClass of user entries (`user` for AD). @default 'inetOrgPerson' */
  objectClass?: string;
  /** @default { username: 'uid', firstName: 'givenName', lastName: 'sn', email: 'mail' } */
  userFields?: LdapUserFieldMap;
  /** Built-in username formatter. @default 'openldap' */
  usernameFormat?: UsernameFormat;
  /** `DOMAIN` for `DOMAIN\name`, `example.com` for `name@example.com`. */
  activeDirectoryDomain?: string;
  /** @default 'bind' */
  loginMode?: LoginMode;
  /** Service account (for search login mode and the full sync); its username goes through the formatter. */
  serviceAccount?: { username: string; password: string };
  /** New users join this organisation; synced groups belong to it. */
  defaultOrganisationId?: number;
  /** @default 'none' */
  groupSync?: GroupSyncMode;
  /** Group DNs mirrored into the app (with `groupSync: 'sync_user_groups'`). @default [] */
  syncedGroups?: string[];
  /** DN of the group whose members may log in. Unset: anyone in the directory may. */
  loginGroup?: string;
  /** Membership through nested groups counts. @default false */
  nestedGroups?: boolean;
  /** @default 'auto' */
  groupMembership?: GroupMembershipSource;
  /** The full sync's schedule and safety limits. */
  sync?: LdapSyncOptions;
}

export interface LdapSyncOptions {
  /** @default '0 3 * * *' */
  cron?: string;
  /** @default true when a service account is configured */
  enabled?: boolean;
  /** @default 'delete' */
  removedUsers?: RemovedUsersPolicy;
  /** A count (`25`) or a percentage of the active LDAP-managed users (`'10%'`). @default '10%' */
  maxRemovals?: number | `${number}%`;
  /**
   * Most memberships of mirrored groups one run may take from users who stay: a count, or a percentage of the
   * LDAP users' memberships of the listed groups (`'10%'`). @default '10%'
   */
  maxMembershipRemovals?: number | `${number}%`;
  /**
   * Seconds between delta syncs (what changed since the last run, read and applied between full syncs); `0`
   * turns them off. @default 60 when the scheduled full sync is on, else 0
   */
  deltaInterval?: number;
  /**
   * Keep the directory's change stream open (RFC 4533 refreshAndPersist on OpenLDAP syncprov, change
   * notifications on Active Directory) and run a delta as changes are written, on one replica at a time; needs
   * deltas on (`deltaInterval`). @default true
   */
  push?: boolean;
}
