import { type DynamicModule, Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConfigurableModuleClass, LDAP_AUTH_MODULE_OPTIONS, type OPTIONS_TYPE } from './ldap-auth.module-definition.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from './ldap-auth.constants.js';
import { resolveLdapAuthOptions } from './config/resolve-options.js';
import { optionSourcesOf, withOptionSources } from './config/option-sources.js';
import { LDAP_AUTH_ENTITIES } from './entities/index.js';
import { LdapDirectory } from './directory/ldap-directory.js';
import { UsernameFormatter } from './formatting/username-formatter.js';
import { GroupSync } from './group-mirroring/group-sync.js';
import { LdapLoginStore } from './persistence/login/ldap-login.store.js';
import { LdapSyncStore } from './persistence/sync/ldap-sync.store.js';
import { LdapSyncLock } from './persistence/sync/ldap-sync-lock.js';
import { LdapSyncRunLog } from './persistence/sync/sync-run-log.js';
import { TransactionRunner } from './persistence/transaction-runner.js';
import { LegacyGroupKeys } from './persistence/legacy-group-keys.js';
import { LdapSyncReads } from './sync/sync-reads.js';
import { LdapSyncPush } from './sync/ldap-sync.push.js';
import { LdapSyncService } from './sync/ldap-sync.service.js';
import { LdapSyncHistory } from './sync/ldap-sync-history.service.js';
import { LdapLinkStore } from './persistence/link/ldap-link.store.js';
import { LdapUserLinkService } from './link/ldap-user-link.service.js';
import { LdapSyncScheduler } from './sync/ldap-sync.scheduler.js';
import { LdapAuthEventPublisher } from './events/ldap-auth-event.publisher.js';
import { LdapLoginService } from './login/ldap-login.service.js';
import { LdapStrategy } from './strategy/ldap.strategy.js';
import { LdapGuard } from './strategy/ldap.guard.js';
import { LdapCheck } from './check/ldap-check.service.js';
import { LdapHealthIndicator } from './health/ldap-health.indicator.js';
import { LdapAdminService } from './admin/ldap-admin.service.js';

/**
 * LDAP / Active Directory login for Nest apps: `LdapAuthModule.forRoot({...})` or
 * `LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider())`, then `@UseGuards(LdapGuard)` on the login route.
 * The app owns `TypeOrmModule.forRoot` (list `LDAP_AUTH_ENTITIES` and `LDAP_AUTH_MIGRATIONS` there).
 */
@Module({
  imports: [PassportModule, TypeOrmModule.forFeature(LDAP_AUTH_ENTITIES)],
  providers: [
    { provide: LDAP_AUTH_RESOLVED_OPTIONS, useFactory: resolveLdapAuthOptions, inject: [LDAP_AUTH_MODULE_OPTIONS] },
    LdapDirectory,
    LdapAuthEventPublisher,
    TransactionRunner,
    LegacyGroupKeys,
    LdapLoginStore,
    LdapSyncStore,
    LdapSyncReads,
    LdapSyncPush,
    LdapSyncLock,
    LdapSyncRunLog,
    LdapLoginService,
    LdapSyncService,
    LdapSyncHistory,
    LdapSyncScheduler,
    LdapLinkStore,
    LdapUserLinkService,
    LdapStrategy,
    LdapGuard,
    LdapCheck,
    LdapHealthIndicator,
    LdapAdminService,
  ],
  // What an app may inject; the directory facade and the stores stay inside.
  exports: [
    LDAP_AUTH_RESOLVED_OPTIONS,
    LdapLoginService,
    LdapSyncService,
    LdapSyncHistory,
    LdapUserLinkService,
    LdapGuard,
    LdapCheck,
    LdapHealthIndicator,
    LdapAdminService,
    UsernameFormatter,
    GroupSync,
    TypeOrmModule,
  ],
})
export class LdapAuthModule extends ConfigurableModuleClass {
  /**
   * The builder's forRoot, keeping which environment variable set each option (it copies the options by
   * `Object.keys` to drop the extras, which leaves the symbol-keyed record behind), so errors name the variable.
   */
  static override forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const module = super.forRoot(options);
    const sources = optionSourcesOf(options);
    const copy = module.providers?.find(
      (provider) => typeof provider === 'object' && provider.provide === LDAP_AUTH_MODULE_OPTIONS,
    );
    if (sources && copy && 'useValue' in copy) withOptionSources(copy.useValue as object, sources);
    return module;
  }
}
