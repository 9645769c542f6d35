import type {
  GroupMembershipSource,
  GroupSyncMode,
  LdapAuthModuleOptions,
  LdapServerOptions,
  LdapUserFieldMap,
  LoginMode,
  RemovedUsersPolicy,
  UsernameFormat,
} from '../interfaces/ldap-auth-options.interface.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';
import { parentDn } from '../directory/ldap-escape.js';

export const DEFAULT_SEARCH_BASE = 'ou=people,dc=example,dc=com';
export const DEFAULT_OBJECT_CLASS = 'inetOrgPerson';
export const DEFAULT_USER_FIELDS: LdapUserFieldMap = {
  username: 'uid',
  firstName: 'givenName',
  lastName: 'sn',
  email: 'mail',
};
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_POOL_SIZE = 8;
export const DEFAULT_SYNC_CRON = '0 3 * * *';
export const DEFAULT_MAX_REMOVALS = '10%';

/** Options with every default filled in: what the rest of the library reads. */
export interface ResolvedLdapAuthOptions {
  server: Required<Omit<LdapServerOptions, 'url' | 'bindDN' | 'bindCredentials' | 'searchFilter'>> & {
    urls: string[];
    bindDN?: string;
    bindCredentials?: string;
    searchFilter?: string;
  };
  usernameField: string;
  passwordField: string;
  objectClass: string;
  userFields: LdapUserFieldMap;
  usernameFormat: UsernameFormat;
  activeDirectoryDomain?: string;
  loginMode: LoginMode;
  serviceAccount?: { username: string; password: string };
  defaultOrganisationId?: number;
  groupSync: GroupSyncMode;
  syncedGroups: string[];
  loginGroup?: string;
  nestedGroups: boolean;
  groupMembership: GroupMembershipSource;
  sync: { cron: string; enabled: boolean; removedUsers: RemovedUsersPolicy; maxRemovals: number | `${number}%` };
}

/** Applies defaults and checks the combinations that cannot work, naming the option at fault. */
export function resolveLdapAuthOptions(options: LdapAuthModuleOptions): ResolvedLdapAuthOptions {
  const problems: string[] = [];
  const server = options.server ?? ({} as LdapServerOptions);
  const urls = (Array.isArray(server.url) ? server.url : [server.url]).filter((u): u is string => !!u);
  if (urls.length === 0) problems.push('server.url: at least one ldap:// or ldaps:// URL is required');
  for (const url of urls) {
    if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(url)) {
      problems.push(`server.url: "${url}" is not an ldap://host[:port] or ldaps://host[:port] URL`);
    }
  }
  const searchBase = server.searchBase ?? DEFAULT_SEARCH_BASE;
  const userFields = options.userFields ?? DEFAULT_USER_FIELDS;
  if (!userFields.username) problems.push('userFields.username: the attribute holding the login name is required');
  const hasServiceAccount = !!(options.serviceAccount || (server.bindDN && server.bindCredentials));
  const loginMode = options.loginMode ?? 'bind';
  if (loginMode === 'search' && !hasServiceAccount) {
    problems.push('loginMode "search" needs a service account (serviceAccount or server.bindDN + bindCredentials)');
  }
  const groupSync = options.groupSync ?? 'none';
  if (groupSync === 'sync_user_groups' && options.defaultOrganisationId === undefined) {
    problems.push('groupSync "sync_user_groups" needs defaultOrganisationId: synced groups belong to an organisation');
  }
  if (options.serviceAccount && !options.serviceAccount.password) {
    problems.push('serviceAccount.password must not be empty');
  }
  if (problems.length) throw new LdapConfigurationError(problems);

  return {
    server: {
      urls,
      starttls: server.starttls ?? false,
      tlsOptions: server.tlsOptions ?? {},
      bindDN: server.bindDN,
      bindCredentials: server.bindCredentials,
      searchBase,
      searchFilter: server.searchFilter,
      searchAttributes: server.searchAttributes ?? [],
      groupSearchBase: server.groupSearchBase ?? (parentDn(searchBase) || searchBase),
      timeout: server.timeout ?? DEFAULT_TIMEOUT_MS,
      connectTimeout: server.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
      poolSize: server.poolSize ?? DEFAULT_POOL_SIZE,
    },
    usernameField: options.usernameField ?? 'username',
    passwordField: options.passwordField ?? 'password',
    objectClass: options.objectClass ?? DEFAULT_OBJECT_CLASS,
    userFields,
    usernameFormat: options.usernameFormat ?? 'openldap',
    activeDirectoryDomain: options.activeDirectoryDomain,
    loginMode,
    serviceAccount: options.serviceAccount,
    defaultOrganisationId: options.defaultOrganisationId,
    groupSync,
    syncedGroups: options.syncedGroups ?? [],
    loginGroup: options.loginGroup,
    nestedGroups: options.nestedGroups ?? false,
    groupMembership: options.groupMembership ?? 'auto',
    sync: {
      cron: options.sync?.cron ?? DEFAULT_SYNC_CRON,
      enabled: options.sync?.enabled ?? hasServiceAccount,
      removedUsers: options.sync?.removedUsers ?? 'delete',
      maxRemovals: options.sync?.maxRemovals ?? DEFAULT_MAX_REMOVALS,
    },
  };
}
