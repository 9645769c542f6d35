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
import { validateCronExpression } from 'cron';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';
import { optionNamer } from './option-sources.js';

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
export const DEFAULT_POOL_MAX_WAITING = 100;
export const DEFAULT_POOL_WAIT_TIMEOUT_MS = 5_000;
export const DEFAULT_SYNC_CRON = '0 3 * * *';
/** Seconds between delta syncs when the scheduled sync is on. */
export const DEFAULT_DELTA_INTERVAL = 60;
export const DEFAULT_MAX_REMOVALS = '10%';
export const DEFAULT_MAX_MEMBERSHIP_REMOVALS = '10%';

/** Options with every default filled in: what the rest of the library reads. */
export interface ResolvedLdapAuthOptions {
  server: Required<
    Omit<LdapServerOptions, 'url' | 'bindDN' | 'bindCredentials' | 'searchFilter' | 'groupSearchBase'>
  > & {
    urls: string[];
    /** Unset: derived per server from the search base and the server's naming contexts. */
    groupSearchBase?: string;
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
  sync: {
    cron: string;
    enabled: boolean;
    removedUsers: RemovedUsersPolicy;
    maxRemovals: number | `${number}%`;
    maxMembershipRemovals: number | `${number}%`;
    /** Seconds; 0: off. */
    deltaInterval: number;
    push: boolean;
  };
}

/**
 * Applies defaults and checks the combinations that cannot work, naming the option at fault as the user set it:
 * the environment variable for options read by ldapAuthOptionsFromEnvironment, the option path otherwise.
 */
export function resolveLdapAuthOptions(options: LdapAuthModuleOptions): ResolvedLdapAuthOptions {
  const problems: string[] = [];
  const nameOf = optionNamer(options);
  const name = (path: string) => nameOf(path).name;
  /** `LDAP_AUTH_LOGIN_MODE=search` or `loginMode "search"`. */
  const setTo = (path: string, value: string) => {
    const option = nameOf(path);
    return option.fromEnvironment ? `${option.name}=${value}` : `${option.name} "${value}"`;
  };
  const server = options.server ?? ({} as LdapServerOptions);
  const urls = (Array.isArray(server.url) ? server.url : [server.url]).filter((u): u is string => !!u);
  const url = nameOf('server.url');
  if (urls.length === 0)
    problems.push(
      url.fromEnvironment
        ? `${url.name} is not set: at least one ldap:// or ldaps:// URL is required`
        : `${url.name}: at least one ldap:// or ldaps:// URL is required`,
    );
  for (const each of urls) {
    if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(each)) {
      problems.push(`${url.name}: "${each}" is not an ldap://host[:port] or ldaps://host[:port] URL`);
    }
  }
  const searchBase = server.searchBase ?? DEFAULT_SEARCH_BASE;
  const userFields = options.userFields ?? DEFAULT_USER_FIELDS;
  if (!userFields.username) {
    const fields = nameOf('userFields');
    problems.push(
      fields.fromEnvironment
        ? `${fields.name} must map username, such as username=uid`
        : 'userFields.username: the attribute holding the login name is required',
    );
  }
  const hasServiceAccount = !!(options.serviceAccount || (server.bindDN && server.bindCredentials));
  const loginMode = options.loginMode ?? 'bind';
  if (loginMode === 'search' && !hasServiceAccount) {
    const account = nameOf('serviceAccount');
    const which = account.fromEnvironment ? account.name : 'serviceAccount or server.bindDN + bindCredentials';
    problems.push(`${setTo('loginMode', 'search')} needs a service account (${which})`);
  }
  const groupSync = options.groupSync ?? 'none';
  if (groupSync === 'sync_user_groups' && options.defaultOrganisationId === undefined) {
    problems.push(
      `${setTo('groupSync', 'sync_user_groups')} needs ${name('defaultOrganisationId')}: synced groups belong to an organisation`,
    );
  }
  if (options.serviceAccount && !options.serviceAccount.password) {
    problems.push(`${name('serviceAccount.password')} must not be empty`);
  }
  const milliseconds = (path: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    // ldapts reads 0 as "no timeout": a value that rounds to 0 must never get through.
    if (!Number.isFinite(value) || value < 1) {
      const option = nameOf(path);
      problems.push(
        option.fromEnvironment
          ? `${option.name} must be at least 0.001 seconds (1 ms) (got ${value / 1000})`
          : `${option.name} must be at least 1 ms (got ${value}; the option is in milliseconds)`,
      );
    }
    return Math.round(value);
  };
  const timeout = milliseconds('server.timeout', server.timeout, DEFAULT_TIMEOUT_MS);
  const connectTimeout = milliseconds('server.connectTimeout', server.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS);
  const poolWaitTimeout = milliseconds('server.poolWaitTimeout', server.poolWaitTimeout, DEFAULT_POOL_WAIT_TIMEOUT_MS);
  const count = (path: string, value: number | undefined, fallback: number, min: number) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min) {
      problems.push(`${name(path)} must be a whole number of at least ${min} (got ${value})`);
    }
    return value;
  };
  const poolSize = count('server.poolSize', server.poolSize, DEFAULT_POOL_SIZE, 1);
  const poolMaxWaiting = count('server.poolMaxWaiting', server.poolMaxWaiting, DEFAULT_POOL_MAX_WAITING, 0);
  const syncEnabled = options.sync?.enabled ?? hasServiceAccount;
  const deltaInterval = count(
    'sync.deltaInterval',
    options.sync?.deltaInterval,
    syncEnabled ? DEFAULT_DELTA_INTERVAL : 0,
    0,
  );
  if (deltaInterval > 0 && !hasServiceAccount) {
    problems.push(`${name('sync.deltaInterval')} needs the service account (LDAP_SYNC_USER_USERNAME)`);
  }
  const cron = options.sync?.cron ?? DEFAULT_SYNC_CRON;
  const cronCheck = validateCronExpression(cron);
  if (!cronCheck.valid) {
    problems.push(`${name('sync.cron')} "${cron}" is not a cron expression: ${cronCheck.error?.message ?? 'invalid'}`);
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
      groupSearchBase: server.groupSearchBase,
      timeout,
      connectTimeout,
      poolSize,
      poolMaxWaiting,
      poolWaitTimeout,
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
      cron,
      enabled: syncEnabled,
      removedUsers: options.sync?.removedUsers ?? 'delete',
      maxRemovals: options.sync?.maxRemovals ?? DEFAULT_MAX_REMOVALS,
      maxMembershipRemovals: options.sync?.maxMembershipRemovals ?? DEFAULT_MAX_MEMBERSHIP_REMOVALS,
      deltaInterval,
      push: options.sync?.push ?? true,
    },
  };
}
