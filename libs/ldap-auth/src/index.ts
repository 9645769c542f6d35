export { LdapAuthModule } from './ldap-auth.module.js';
export { LDAP_AUTH_MODULE_OPTIONS, type LdapAuthModuleExtras } from './ldap-auth.module-definition.js';
export { LDAP_AUTH_RESOLVED_OPTIONS, LDAP_STRATEGY_NAME } from './ldap-auth.constants.js';
export type * from './interfaces/ldap-auth-options.interface.js';
export type { AppUser } from './interfaces/app-user.interface.js';
export { resolveLdapAuthOptions, type ResolvedLdapAuthOptions } from './config/resolve-options.js';
export { ldapAuthOptionsFromEnvironment, LdapEnvironmentVariables } from './config/ldap-environment.js';
export { ldapAuthConfig } from './config/ldap-auth.config.js';
export { databaseOptionsFromUrl, DEFAULT_DATABASE_URL, redactUrl } from './database/database-options.js';
export { LdapGuard, INVALID_CREDENTIALS_MESSAGE } from './strategy/ldap.guard.js';
export { LdapStrategy } from './strategy/ldap.strategy.js';
export { LdapLoginService } from './login/ldap-login.service.js';
export { LdapDirectory, type DirectorySession } from './directory/ldap-directory.js';
export {
  LdapHealthIndicator,
  LDAP_HEALTH_RESULT_TTL_MS,
  type LdapHealthIndicatorResult,
} from './health/ldap-health.indicator.js';
export type { DirectoryUser } from './model/directory-user.js';
export { storedUsername, usernameKey, USERNAME_KEY_MAX_LENGTH } from './model/username-key.js';
export { escapeDnValue, escapeFilterValue, normalizeDn } from './model/ldap-escape.js';
export { UsernameFormatter } from './formatting/username-formatter.js';
export { OpenLdapUsernameFormatter } from './formatting/openldap-username.formatter.js';
export {
  ActiveDirectoryPrincipalUsernameFormatter,
  ActiveDirectoryUsernameFormatter,
} from './formatting/active-directory-username.formatter.js';
export { GroupSync, type GroupSyncPlan, type GroupToJoin } from './group-sync/group-sync.js';
export { NoGroupSync } from './group-sync/no-group-sync.js';
export { SyncedGroupsGroupSync } from './group-sync/synced-groups.group-sync.js';
export { LdapUserStore } from './persistence/login/ldap-user.store.js';
export * from './events/ldap-auth.events.js';
export { LdapSyncService, maxRemovals, type SyncRunOptions } from './sync/ldap-sync.service.js';
export type { SyncOutcome, SyncReport } from './model/sync-report.js';
export { LdapSyncScheduler, LDAP_SYNC_CRON_JOB } from './sync/ldap-sync.scheduler.js';
export {
  LdapCheck,
  DEFAULT_MAX_COUNTED_ENTRIES,
  type CheckRunOptions,
  LdapDiagnostics,
  type DiagnosticsRunOptions,
} from './check/ldap-check.service.js';
export {
  CHECK_EXIT_CODES,
  configurationFailureReport,
  formatCheckReport,
  type CheckReport,
  type CheckStatus,
  type CheckStep,
  type UserCheckSummary,
} from './check/check-report.js';
export { reconcile } from './sync/reconcile.js';
export type { AppState, SyncPlan } from './model/sync-plan.js';
export type { DirectorySnapshot, ReadProgress, SnapshotGroup, SnapshotUser } from './model/directory-snapshot.js';
export * from './entities/index.js';
export { LDAP_AUTH_MIGRATIONS } from './migrations/index.js';
export * from './errors/ldap-auth.errors.js';
