/**
 * Which environment variable each option came from, so a configuration error names what the user actually set
 * (`LDAP_AUTH_URL`), not the option path they never wrote (`server.url`).
 *
 * The record rides on the options object under a symbol key: an app that adjusts the options with a spread
 * (`{ ...fromEnv, server: { ...fromEnv.server, tlsOptions } }`) keeps it, and it never shows in JSON or
 * `Object.keys`. Each entry keeps the value the variable gave: an option is credited to its variable only while
 * it still holds that very value, so one the app replaced in code is named by its path.
 */
export const LDAP_OPTION_SOURCES = Symbol.for('@nest-ldap-auth/ldap-auth.option-sources');

interface OptionSource {
  variable: string;
  value: unknown;
}

/** Option path (`server.url`) → the variable(s) it was read from and the value read. */
export type OptionSources = Record<string, OptionSource>;

/** `options` with its sources attached (the same object). */
export function withOptionSources<T extends object>(options: T, sources: OptionSources): T {
  Object.defineProperty(options, LDAP_OPTION_SOURCES, { value: sources, enumerable: true, configurable: true });
  return options;
}

/** The sources attached to `options`, if any (for code that copies options without spreading them). */
export function optionSourcesOf(options: object): OptionSources | undefined {
  return (options as { [LDAP_OPTION_SOURCES]?: OptionSources })[LDAP_OPTION_SOURCES];
}

/** How a problem refers to one option: the variable that set it, or its path in code. */
export interface OptionName {
  /** `LDAP_AUTH_URL`, or `server.url`. */
  name: string;
  /** Whether `name` is an environment variable. */
  fromEnvironment: boolean;
}

/** A function naming each option of `options` as the user set it. */
export function optionNamer(options: object): (path: string) => OptionName {
  const sources = optionSourcesOf(options) ?? {};
  return (path) => {
    const source = Object.hasOwn(sources, path) ? sources[path] : undefined;
    return source && Object.is(valueAt(options, path), source.value)
      ? { name: source.variable, fromEnvironment: true }
      : { name: path, fromEnvironment: false };
  };
}

function valueAt(options: object, path: string): unknown {
  let value: unknown = options;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The variable ldapAuthOptionsFromEnvironment reads each option from. */
const VARIABLE_OF: Readonly<Record<string, string>> = {
  'server.url': 'LDAP_AUTH_URL',
  'server.starttls': 'LDAP_AUTH_USE_TLS',
  'server.tlsOptions.ca': 'LDAP_AUTH_TLS_CA_FILE',
  'server.tlsOptions.servername': 'LDAP_AUTH_TLS_SERVERNAME',
  'server.tlsOptions.rejectUnauthorized': 'LDAP_AUTH_TLS_REJECT_UNAUTHORIZED',
  'server.searchBase': 'LDAP_AUTH_SEARCH_BASE',
  'server.groupSearchBase': 'LDAP_GROUP_SEARCH_BASE',
  'server.connectTimeout': 'LDAP_AUTH_CONNECT_TIMEOUT',
  'server.timeout': 'LDAP_AUTH_RECEIVE_TIMEOUT',
  'server.poolSize': 'LDAP_AUTH_POOL_SIZE',
  'server.poolMaxWaiting': 'LDAP_AUTH_POOL_MAX_WAITING',
  'server.poolWaitTimeout': 'LDAP_AUTH_POOL_WAIT_TIMEOUT',
  objectClass: 'LDAP_AUTH_OBJECT_CLASS',
  userFields: 'LDAP_AUTH_USER_FIELDS',
  usernameFormat: 'LDAP_AUTH_FORMAT_USERNAME',
  activeDirectoryDomain: 'LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN',
  loginMode: 'LDAP_AUTH_LOGIN_MODE',
  serviceAccount: 'LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD',
  'serviceAccount.username': 'LDAP_SYNC_USER_USERNAME',
  'serviceAccount.password': 'LDAP_SYNC_USER_PASSWORD',
  groupSync: 'LDAP_AUTH_SYNC_USER_RELATIONS',
  syncedGroups: 'LDAP_SYNCED_GROUPS',
  loginGroup: 'LDAP_LOGIN_GROUP',
  nestedGroups: 'LDAP_NESTED_GROUPS',
  groupMembership: 'LDAP_GROUP_MEMBERSHIP',
  'sync.cron': 'LDAP_SYNC_CRON',
  'sync.enabled': 'LDAP_SYNC_ENABLED',
  'sync.removedUsers': 'LDAP_SYNC_REMOVED_USERS',
  'sync.maxRemovals': 'LDAP_SYNC_MAX_REMOVALS',
  'sync.maxMembershipRemovals': 'LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS',
  'sync.deltaInterval': 'LDAP_SYNC_DELTA_INTERVAL',
  'sync.push': 'LDAP_SYNC_PUSH',
};

/**
 * The sources of options just read from the environment: every option the reader sets, unset variables
 * included (an option left unset in the environment is still the environment's to set).
 * `organisationVariable`: which of the organisation id's two names applies.
 */
export function environmentSources(options: object, organisationVariable: string): OptionSources {
  const sources: OptionSources = {};
  const variables = { ...VARIABLE_OF, defaultOrganisationId: organisationVariable };
  for (const [path, variable] of Object.entries(variables)) sources[path] = { variable, value: valueAt(options, path) };
  return sources;
}
