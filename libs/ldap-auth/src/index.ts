/*
 * The public surface: what an app needs to wire the module, extend it and read what it did. Every name here is a
 * promise for 0.x; anything not exported is internal and may change in any release.
 */

// The module and its options.
export { LdapAuthModule } from './ldap-auth.module.js';
export { LDAP_AUTH_MODULE_OPTIONS, type LdapAuthModuleExtras } from './ldap-auth.module-definition.js';
export { LDAP_AUTH_RESOLVED_OPTIONS, LDAP_STRATEGY_NAME } from './ldap-auth.constants.js';
export type * from './interfaces/ldap-auth-options.interface.js';
export type { AppUser } from './interfaces/app-user.interface.js';
export { resolveLdapAuthOptions, type ResolvedLdapAuthOptions } from './config/resolve-options.js';
export { ldapAuthOptionsFromEnvironment, LdapEnvironmentVariables } from './config/ldap-environment.js';
export { ldapAuthConfig, ldapAuthConfigWith } from './config/ldap-auth.config.js';
export { databaseOptionsFromUrl, DEFAULT_DATABASE_URL, redactUrl } from './database/database-options.js';
export * from './entities/index.js';
export { LDAP_AUTH_MIGRATIONS } from './migrations/index.js';
export * from './errors/ldap-auth.errors.js';
export { oneLine } from './logging/one-line.js';

// Logging in.
export { LdapGuard, INVALID_CREDENTIALS_MESSAGE } from './strategy/ldap.guard.js';
export { LdapStrategy } from './strategy/ldap.strategy.js';
export { LdapLoginService } from './login/ldap-login.service.js';

// Extension points: how names are formed, which groups a login mirrors.
export { UsernameFormatter } from './formatting/username-formatter.js';
export { OpenLdapUsernameFormatter } from './formatting/openldap-username.formatter.js';
export {
  ActiveDirectoryPrincipalUsernameFormatter,
  ActiveDirectoryUsernameFormatter,
} from './formatting/active-directory-username.formatter.js';
export { GroupSync, type GroupSyncPlan, type GroupToJoin } from './group-mirroring/group-sync.js';
export { NoGroupSync } from './group-mirroring/no-group-sync.js';
export { SyncedGroupsGroupSync } from './group-mirroring/synced-groups.group-sync.js';
export type { DirectoryGroup, DirectoryUser } from './model/directory-user.js';
export { escapeDnValue, escapeFilterValue } from './model/ldap-escape.js';
export { normalizeDn } from './model/dn.js';
export { usernameKey, USERNAME_KEY_MAX_LENGTH } from './model/username-key.js';

// The full sync, its report and its schedule.
export { LdapSyncService, type SyncRunOptions } from './sync/ldap-sync.service.js';
export { LdapSyncHistory } from './sync/ldap-sync-history.service.js';
export type { SyncOutcome, SyncReport, SyncRunRecord, SyncRunStatus } from './model/sync-report.js';
export {
  SYNC_CHANGE_KINDS,
  SYNC_CHANGE_RECORD_LIMIT,
  type SyncChange,
  type SyncChangeKind,
  type SyncChanges,
  type SyncChangeValues,
} from './model/sync-changes.js';
export type { ReadProgress } from './model/directory-snapshot.js';
export { LdapSyncScheduler, LDAP_SYNC_CRON_JOB } from './sync/ldap-sync.scheduler.js';

// Linking users that predate LDAP to their entries (`users:link`).
export { LdapUserLinkService, type UserLinkOptions } from './link/ldap-user-link.service.js';
export type { UserLinkReport } from './model/user-link-report.js';
export type { LinkBy, LinkConflict, LinkConflictKind, ProposedLink } from './model/user-link-plan.js';

// Metrics: OpenTelemetry API instruments, no-op until the app registers a MeterProvider (docs/metrics.md).
export {
  ldapAuthMetrics,
  LDAP_AUTH_METER,
  type LoginOutcome,
  type LdapOperation,
  type LdapOperationOutcome,
  type SyncMode,
} from './metrics/ldap-auth-metrics.js';

// Events, health and `ldap:check`.
export * from './events/ldap-auth.events.js';
export {
  LdapHealthIndicator,
  LDAP_HEALTH_RESULT_TTL_MS,
  LDAP_HEALTH_DEADLINE_MS,
  type LdapHealthIndicatorResult,
  type LdapDirectoryHealth,
} from './health/ldap-health.indicator.js';
export type { ServiceAccountState } from './directory/ldap-health-probe.js';
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

// The optional admin page (docs/operations.md): import LdapAdminModule.register({...}) behind the app's guard.
export { LdapAdminModule, type LdapAdminModuleOptions } from './admin/ldap-admin.module.js';
export { LdapAdminService, type DirectoryFacts, type SyncOverview } from './admin/ldap-admin.service.js';
export { LdapAdminCsrf } from './admin/ldap-admin-csrf.js';
export { LDAP_ADMIN_HEADERS, adminPage } from './admin/admin-layout.js';
export { escapeHtml, html, SafeHtml } from './admin/html.js';
export type { ServerState } from './directory/ldap-connections.js';
export type { OperationLatency } from './metrics/recent-operations.js';
