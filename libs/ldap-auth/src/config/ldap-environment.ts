import { readFileSync } from 'node:fs';
import { IsIn, IsOptional, Matches, validateSync, type ValidationArguments } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { validateCronExpression } from 'cron';
import type {
  GroupMembershipSource,
  GroupSyncMode,
  LdapAuthModuleOptions,
  LdapUserFieldMap,
  UsernameFormat,
} from '../interfaces/ldap-auth-options.interface.js';
import { LdapConfigurationError } from '../errors/ldap-auth.errors.js';
import { tryNormalizeDn } from '../model/dn.js';
import { DEFAULT_OBJECT_CLASS, DEFAULT_SEARCH_BASE } from './resolve-options.js';
import { environmentSources, withOptionSources } from './option-sources.js';

const BOOLEAN = /^(true|false|1|0|yes|no)$/i;
const SECONDS = /^\s*(\d+(\.\d+)?)\s*$/;
const POSITIVE_INTEGER = /^\s*[1-9]\d*\s*$/;
const URL_LIST = /^\s*ldaps?:\/\/[^\s,/]+\/?(\s*[\s,]\s*ldaps?:\/\/[^\s,/]+\/?)*\s*$/i;
const CRON = /^\s*(\S+\s+){4,5}\S+\s*$/;
const MAX_REMOVALS = /^\s*(\d+|(100|\d{1,2})(\.\d+)?%)\s*$/;

/** The original product's names for the built-ins, and ours, mapped to what they mean here. */
const USERNAME_FORMATS: Record<string, UsernameFormat> = {
  openldap: 'openldap',
  active_directory: 'active_directory',
  active_directory_principal: 'active_directory_principal',
  'django_python3_ldap.utils.format_username_openldap': 'openldap',
  'django_python3_ldap.utils.format_username_active_directory': 'active_directory',
  'django_python3_ldap.utils.format_username_active_directory_principal': 'active_directory_principal',
};
const SYNC_USER_RELATIONS: Record<string, GroupSyncMode> = {
  none: 'none',
  'django_python3_ldap.utils.sync_user_relations': 'none',
  sync_user_groups: 'sync_user_groups',
  'custom_auth.ldap.sync_user_groups': 'sync_user_groups',
  'flagsmith_ldap.ldap.sync_user_groups': 'sync_user_groups',
};
const SEARCH_FILTERS: Record<string, 'none' | 'login_group'> = {
  none: 'none',
  'django_python3_ldap.utils.format_search_filters': 'none',
  login_group_search_filter: 'login_group',
  'custom_auth.ldap.login_group_search_filter': 'login_group',
  'flagsmith_ldap.ldap.login_group_search_filter': 'login_group',
};
const USER_FIELD_NAMES: Record<string, keyof LdapUserFieldMap> = {
  username: 'username',
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
};
const GROUP_MEMBERSHIP: GroupMembershipSource[] = ['auto', 'memberOf', 'member', 'uniqueMember', 'memberUid'];

const got = (args: ValidationArguments) => ` (got ${JSON.stringify(args.value)})`;
const says = (what: string) => ({
  message: (args: ValidationArguments) => `${args.property} must be ${what}${got(args)}`,
});
const oneOf = (values: string[]) => says(`one of: ${values.join(', ')}`);

/**
 * The environment variables the module reads, checked with class-validator. Values stay strings here;
 * {@link ldapAuthOptionsFromEnvironment} turns them into options.
 */
export class LdapEnvironmentVariables {
  @IsOptional()
  @Matches(URL_LIST, says('one or more ldap:// or ldaps:// URLs separated by spaces or commas'))
  LDAP_AUTH_URL?: string;

  @IsOptional()
  @Matches(BOOLEAN, says('true, false, 1, 0, yes or no'))
  LDAP_AUTH_USE_TLS?: string;

  @IsOptional()
  LDAP_AUTH_TLS_CA_FILE?: string;

  @IsOptional()
  @Matches(BOOLEAN, says('true, false, 1, 0, yes or no'))
  LDAP_AUTH_TLS_REJECT_UNAUTHORIZED?: string;

  @IsOptional()
  LDAP_AUTH_TLS_SERVERNAME?: string;

  @IsOptional()
  LDAP_AUTH_SEARCH_BASE?: string;

  @IsOptional()
  @Matches(/^[A-Za-z][\w-]*$/, says('an objectClass name such as inetOrgPerson or user'))
  LDAP_AUTH_OBJECT_CLASS?: string;

  @IsOptional()
  LDAP_AUTH_USER_FIELDS?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, says('a domain such as EXAMPLE or example.com'))
  LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN?: string;

  @IsOptional()
  @Matches(SECONDS, says('a number of seconds greater than 0'))
  LDAP_AUTH_CONNECT_TIMEOUT?: string;

  @IsOptional()
  @Matches(SECONDS, says('a number of seconds greater than 0'))
  LDAP_AUTH_RECEIVE_TIMEOUT?: string;

  @IsOptional()
  @IsIn(Object.keys(USERNAME_FORMATS), oneOf(Object.keys(USERNAME_FORMATS)))
  LDAP_AUTH_FORMAT_USERNAME?: string;

  @IsOptional()
  @IsIn(['bind', 'search'], oneOf(['bind', 'search']))
  LDAP_AUTH_LOGIN_MODE?: string;

  @IsOptional()
  @Matches(POSITIVE_INTEGER, says('a positive whole number (an organisation id)'))
  LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID?: string;

  @IsOptional()
  @Matches(POSITIVE_INTEGER, says('a positive whole number (an organisation id)'))
  LDAP_DEFAULT_ORGANISATION_ID?: string;

  @IsOptional()
  @IsIn(Object.keys(SYNC_USER_RELATIONS), oneOf(Object.keys(SYNC_USER_RELATIONS)))
  LDAP_AUTH_SYNC_USER_RELATIONS?: string;

  @IsOptional()
  @IsIn(Object.keys(SEARCH_FILTERS), oneOf(Object.keys(SEARCH_FILTERS)))
  LDAP_AUTH_FORMAT_SEARCH_FILTERS?: string;

  @IsOptional()
  LDAP_SYNCED_GROUPS?: string;

  @IsOptional()
  LDAP_LOGIN_GROUP?: string;

  @IsOptional()
  @Matches(BOOLEAN, says('true, false, 1, 0, yes or no'))
  LDAP_NESTED_GROUPS?: string;

  @IsOptional()
  @IsIn(GROUP_MEMBERSHIP, oneOf(GROUP_MEMBERSHIP))
  LDAP_GROUP_MEMBERSHIP?: string;

  @IsOptional()
  LDAP_GROUP_SEARCH_BASE?: string;

  @IsOptional()
  @Matches(POSITIVE_INTEGER, says('a positive whole number'))
  LDAP_AUTH_POOL_SIZE?: string;

  @IsOptional()
  @Matches(/^\s*\d+\s*$/, says('a whole number (0 or more)'))
  LDAP_AUTH_POOL_MAX_WAITING?: string;

  @IsOptional()
  @Matches(SECONDS, says('a number of seconds greater than 0'))
  LDAP_AUTH_POOL_WAIT_TIMEOUT?: string;

  @IsOptional()
  LDAP_SYNC_USER_USERNAME?: string;

  @IsOptional()
  LDAP_SYNC_USER_PASSWORD?: string;

  @IsOptional()
  @Matches(CRON, says('a cron expression of 5 or 6 fields, such as "0 3 * * *"'))
  LDAP_SYNC_CRON?: string;

  @IsOptional()
  @Matches(BOOLEAN, says('true, false, 1, 0, yes or no'))
  LDAP_SYNC_ENABLED?: string;

  @IsOptional()
  @IsIn(['delete', 'deactivate'], oneOf(['delete', 'deactivate']))
  LDAP_SYNC_REMOVED_USERS?: string;

  @IsOptional()
  @Matches(MAX_REMOVALS, says('a whole number (25) or a percentage up to 100 (10%)'))
  LDAP_SYNC_MAX_REMOVALS?: string;

  @IsOptional()
  @Matches(MAX_REMOVALS, says('a whole number (25) or a percentage up to 100 (10%)'))
  LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS?: string;

  @IsOptional()
  @Matches(/^\s*\d+\s*$/, says('a whole number of seconds (60), or 0 to turn the delta sync off'))
  LDAP_SYNC_DELTA_INTERVAL?: string;

  @IsOptional()
  @Matches(BOOLEAN, says('true, false, 1, 0, yes or no'))
  LDAP_SYNC_PUSH?: string;
}

/** Every variable the library reads. */
export const LDAP_AUTH_VARIABLES: readonly string[] = Object.keys(new LdapEnvironmentVariables());

const isTrue = (value: string | undefined, fallback: boolean) =>
  value === undefined ? fallback : /^(true|1|yes)$/i.test(value);
// Not rounded here: resolveLdapAuthOptions refuses what would round to 0 ms (ldapts reads 0 as "never").
const seconds = (value: string | undefined) => (value === undefined ? undefined : parseFloat(value) * 1000);
const defined = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/**
 * Reads the module's options from environment variables (the original product's names and values are
 * accepted). Throws LdapConfigurationError listing every variable at fault and what it allows.
 * An unset `LDAP_AUTH_URL` gives `server.url: []`: the caller decides (the demo starts its embedded directory).
 * The options carry which variable set each of them, so resolveLdapAuthOptions names the variable at fault.
 */
export function ldapAuthOptionsFromEnvironment(
  env: Record<string, string | undefined> = process.env,
): LdapAuthModuleOptions {
  // Empty variables count as unset, as in docker-compose files that list every variable.
  const raw: Record<string, string> = {};
  for (const key of LDAP_AUTH_VARIABLES) {
    const value = defined(env[key]);
    if (value !== undefined) raw[key] = value;
  }
  const vars = plainToInstance(LdapEnvironmentVariables, raw);
  const problems = validateSync(vars).flatMap((e) => Object.values(e.constraints ?? {}));

  if (vars.LDAP_AUTH_URL !== undefined && URL_LIST.test(vars.LDAP_AUTH_URL)) {
    for (const url of vars.LDAP_AUTH_URL.split(/[\s,]+/).filter(Boolean)) {
      const problem = urlProblem(url);
      if (problem) problems.push(`LDAP_AUTH_URL: ${JSON.stringify(url)} ${problem}`);
    }
  }
  const userFields = parseUserFields(vars.LDAP_AUTH_USER_FIELDS, problems);
  const caFile = vars.LDAP_AUTH_TLS_CA_FILE;
  let ca: string | undefined;
  if (caFile) {
    try {
      ca = readFileSync(caFile, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        problems.push(`LDAP_AUTH_TLS_CA_FILE: ${caFile} holds no PEM certificate; it must be a PEM file of the CA(s)`);
    } catch (error) {
      problems.push(
        `LDAP_AUTH_TLS_CA_FILE: cannot read ${caFile} (${(error as Error).message}); it must be a readable PEM file of the CA(s)`,
      );
    }
  }
  const checkDn = (name: string, value: string | undefined) => {
    if (value !== undefined && !tryNormalizeDn(value))
      problems.push(`${name} must be a DN such as ou=people,dc=example,dc=com (got ${JSON.stringify(value)})`);
  };
  checkDn('LDAP_AUTH_SEARCH_BASE', vars.LDAP_AUTH_SEARCH_BASE);
  checkDn('LDAP_LOGIN_GROUP', vars.LDAP_LOGIN_GROUP);
  checkDn('LDAP_GROUP_SEARCH_BASE', vars.LDAP_GROUP_SEARCH_BASE);
  const syncedGroups = (vars.LDAP_SYNCED_GROUPS ?? '')
    .split(':')
    .map((dn) => dn.trim())
    .filter(Boolean);
  for (const dn of syncedGroups) checkDn('LDAP_SYNCED_GROUPS (colon-separated DNs)', dn);

  const orgIdText = vars.LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID ?? vars.LDAP_DEFAULT_ORGANISATION_ID;
  const defaultOrganisationId = orgIdText && POSITIVE_INTEGER.test(orgIdText) ? parseInt(orgIdText, 10) : undefined;
  const groupSync = SYNC_USER_RELATIONS[vars.LDAP_AUTH_SYNC_USER_RELATIONS ?? 'none'] ?? 'none';
  // An id that is set but wrong is reported once, above, not again as missing.
  if (groupSync === 'sync_user_groups' && orgIdText === undefined) {
    problems.push(
      'LDAP_AUTH_SYNC_USER_RELATIONS=sync_user_groups needs LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID (the organisation synced groups belong to)',
    );
  }
  const loginGroupFilter = SEARCH_FILTERS[vars.LDAP_AUTH_FORMAT_SEARCH_FILTERS ?? 'none'] === 'login_group';
  if (loginGroupFilter && !vars.LDAP_LOGIN_GROUP) {
    problems.push(
      'LDAP_AUTH_FORMAT_SEARCH_FILTERS=login_group_search_filter needs LDAP_LOGIN_GROUP (the DN of the group allowed to log in)',
    );
  }
  if (!loginGroupFilter && vars.LDAP_LOGIN_GROUP) {
    problems.push(
      'LDAP_LOGIN_GROUP is set but LDAP_AUTH_FORMAT_SEARCH_FILTERS is not login_group_search_filter: set both, or neither',
    );
  }
  const hasSyncUser = !!vars.LDAP_SYNC_USER_USERNAME;
  if (hasSyncUser !== !!vars.LDAP_SYNC_USER_PASSWORD) {
    problems.push('LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD go together: set both, or neither');
  }
  // When only one of the pair is set, the line above already says what is missing.
  if (vars.LDAP_AUTH_LOGIN_MODE === 'search' && !hasSyncUser && !vars.LDAP_SYNC_USER_PASSWORD) {
    problems.push(
      'LDAP_AUTH_LOGIN_MODE=search needs LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD (the account that searches)',
    );
  }
  for (const name of [
    'LDAP_AUTH_CONNECT_TIMEOUT',
    'LDAP_AUTH_RECEIVE_TIMEOUT',
    'LDAP_AUTH_POOL_WAIT_TIMEOUT',
  ] as const) {
    if (vars[name] === undefined || !SECONDS.test(vars[name])) continue;
    const value = parseFloat(vars[name]);
    if (value <= 0)
      problems.push(`${name} must be a number of seconds greater than 0 (got ${JSON.stringify(vars[name])})`);
    // ldapts reads 0 ms as "no timeout": a value that rounds to 0 ms must never get through.
    else if (Math.round(value * 1000) < 1)
      problems.push(`${name} must be at least 0.001 seconds (1 ms) (got ${JSON.stringify(vars[name])})`);
  }
  if (vars.LDAP_SYNC_CRON !== undefined && CRON.test(vars.LDAP_SYNC_CRON)) {
    const check = validateCronExpression(vars.LDAP_SYNC_CRON.trim());
    if (!check.valid)
      problems.push(
        `LDAP_SYNC_CRON must be a cron expression of 5 or 6 fields, such as "0 3 * * *" (got ${JSON.stringify(vars.LDAP_SYNC_CRON)}: ${check.error?.message ?? 'invalid'})`,
      );
  }
  if (problems.length) throw new LdapConfigurationError(problems);

  const tlsOptions: LdapAuthModuleOptions['server']['tlsOptions'] = {};
  if (ca) tlsOptions.ca = ca;
  if (vars.LDAP_AUTH_TLS_SERVERNAME) tlsOptions.servername = vars.LDAP_AUTH_TLS_SERVERNAME;
  tlsOptions.rejectUnauthorized = isTrue(vars.LDAP_AUTH_TLS_REJECT_UNAUTHORIZED, true);
  const limit = (value: string | undefined) =>
    value === undefined ? undefined : value.includes('%') ? (value.trim() as `${number}%`) : parseInt(value, 10);

  const options: LdapAuthModuleOptions = {
    server: {
      url: (vars.LDAP_AUTH_URL ?? '').split(/[\s,]+/).filter(Boolean),
      starttls: isTrue(vars.LDAP_AUTH_USE_TLS, false),
      tlsOptions,
      searchBase: vars.LDAP_AUTH_SEARCH_BASE ?? DEFAULT_SEARCH_BASE,
      groupSearchBase: vars.LDAP_GROUP_SEARCH_BASE,
      connectTimeout: seconds(vars.LDAP_AUTH_CONNECT_TIMEOUT),
      timeout: seconds(vars.LDAP_AUTH_RECEIVE_TIMEOUT),
      poolSize: vars.LDAP_AUTH_POOL_SIZE ? parseInt(vars.LDAP_AUTH_POOL_SIZE, 10) : undefined,
      poolMaxWaiting: vars.LDAP_AUTH_POOL_MAX_WAITING ? parseInt(vars.LDAP_AUTH_POOL_MAX_WAITING, 10) : undefined,
      poolWaitTimeout: seconds(vars.LDAP_AUTH_POOL_WAIT_TIMEOUT),
    },
    objectClass: vars.LDAP_AUTH_OBJECT_CLASS ?? DEFAULT_OBJECT_CLASS,
    userFields,
    usernameFormat: USERNAME_FORMATS[vars.LDAP_AUTH_FORMAT_USERNAME ?? 'openldap'],
    activeDirectoryDomain: vars.LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN,
    loginMode: vars.LDAP_AUTH_LOGIN_MODE === 'search' ? 'search' : 'bind',
    serviceAccount: hasSyncUser
      ? { username: vars.LDAP_SYNC_USER_USERNAME!, password: vars.LDAP_SYNC_USER_PASSWORD! }
      : undefined,
    defaultOrganisationId,
    groupSync,
    syncedGroups,
    loginGroup: loginGroupFilter ? vars.LDAP_LOGIN_GROUP : undefined,
    nestedGroups: isTrue(vars.LDAP_NESTED_GROUPS, false),
    groupMembership: (vars.LDAP_GROUP_MEMBERSHIP as GroupMembershipSource | undefined) ?? 'auto',
    sync: {
      cron: vars.LDAP_SYNC_CRON?.trim(),
      enabled: vars.LDAP_SYNC_ENABLED === undefined ? undefined : isTrue(vars.LDAP_SYNC_ENABLED, true),
      removedUsers: vars.LDAP_SYNC_REMOVED_USERS as 'delete' | 'deactivate' | undefined,
      maxRemovals: limit(vars.LDAP_SYNC_MAX_REMOVALS),
      maxMembershipRemovals: limit(vars.LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS),
      deltaInterval:
        vars.LDAP_SYNC_DELTA_INTERVAL === undefined ? undefined : parseInt(vars.LDAP_SYNC_DELTA_INTERVAL, 10),
      push: vars.LDAP_SYNC_PUSH === undefined ? undefined : isTrue(vars.LDAP_SYNC_PUSH, true),
    },
  };
  // The id's older name only when it is the one set (the problems above name the newer one).
  const organisationVariable =
    vars.LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID === undefined && vars.LDAP_DEFAULT_ORGANISATION_ID !== undefined
      ? 'LDAP_DEFAULT_ORGANISATION_ID'
      : 'LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID';
  return withOptionSources(options, environmentSources(options, organisationVariable));
}

/** Why one URL of LDAP_AUTH_URL cannot be used (its form already checked), or undefined. */
function urlProblem(url: string): string | undefined {
  const port = /^ldaps?:\/\/(\[[^\]]*\]|[^:/]*)(:([^/]*))?\/?$/i.exec(url)?.[3];
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535))
    return `has port ${JSON.stringify(port)}; a port must be a number from 1 to 65535`;
  try {
    new URL(url);
  } catch {
    return 'is not a valid URL (ldap://host:port or ldaps://host:port)';
  }
  return undefined;
}

/** `username=uid,email=mail` → { username: 'uid', email: 'mail' }, collecting what is wrong (once per variable). */
function parseUserFields(text: string | undefined, problems: string[]): LdapUserFieldMap | undefined {
  if (text === undefined) return undefined;
  const map: Partial<LdapUserFieldMap> = {};
  const before = problems.length;
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [field, attribute, ...rest] = pair.split('=').map((p) => p.trim());
    const key = USER_FIELD_NAMES[field];
    if (attribute === undefined || rest.length || !attribute) {
      problems.push(
        `LDAP_AUTH_USER_FIELDS must be field=attribute pairs separated by commas, such as username=uid,email=mail (got ${JSON.stringify(pair)})`,
      );
    } else if (!key) {
      problems.push(
        `LDAP_AUTH_USER_FIELDS: unknown field "${field}"; the fields are ${Object.keys(USER_FIELD_NAMES).join(', ')}`,
      );
    } else if (!/^[A-Za-z][\w-]*$/.test(attribute)) {
      problems.push(`LDAP_AUTH_USER_FIELDS: "${attribute}" is not an LDAP attribute name`);
    } else {
      map[key] = attribute;
    }
  }
  if (problems.length > before) return undefined;
  if (!map.username) {
    problems.push(`LDAP_AUTH_USER_FIELDS must map username, such as username=uid (got ${JSON.stringify(text)})`);
    return undefined;
  }
  return map as LdapUserFieldMap;
}
