import {
  type CanActivate,
  Controller,
  type DynamicModule,
  Module,
  type ModuleMetadata,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { LDAP_ADMIN_OPTIONS, LdapAdminController, type LdapAdminPageOptions } from './ldap-admin.controller.js';
import { LdapAdminCsrf } from './ldap-admin-csrf.js';

export interface LdapAdminModuleOptions {
  /** Where the page is served. @default 'admin/ldap' */
  path?: string;
  /** The page's heading. @default 'LDAP' */
  title?: string;
  /**
   * The app's guards, on every route of the page (who may see it: the page itself checks nobody). They and
   * `csrf` are built in this module: list in `imports` the modules that provide what they inject.
   */
  guards: Array<Type<CanActivate>>;
  /** The app's CSRF tokens (see LdapAdminCsrf). */
  csrf: Type<LdapAdminCsrf>;
  /**
   * The app's sign-out route ("/admin/logout"): a POST carrying the page's `_csrf` field, which ends the
   * session. Given, every page's header has a Sign out button; unset, none (the page cannot end the app's sessions).
   */
  signOut?: string;
  /**
   * Modules whose exports the guards and `csrf` inject, and LdapAuthModule as the app configured it (the very
   * DynamicModule object, or `isGlobal: true` on it): the page uses its LdapAdminService.
   */
  imports?: ModuleMetadata['imports'];
}

/**
 * The LDAP admin page, optional: an app that wants it imports `LdapAdminModule.register({...})` and puts it
 * behind its own guard. Server-rendered HTML (no script, no external asset, works with JavaScript off):
 * the directory (health, server, failover, TLS, naming contexts, latencies, every ldap:check step), the sync
 * (schedule, latest runs, each run's changes, a dry-run preview) and "test a user" (ldap:check's user steps).
 */
@Module({})
export class LdapAdminModule {
  static register(options: LdapAdminModuleOptions): DynamicModule {
    if (!options.guards?.length) {
      throw new Error(
        'LdapAdminModule.register: give at least one guard (the page shows the directory to whoever reaches it)',
      );
    }
    const page: LdapAdminPageOptions = {
      path: (options.path ?? 'admin/ldap').replace(/^\/+|\/+$/g, ''),
      title: options.title ?? 'LDAP',
      signOut: options.signOut,
    };
    // A controller per registration: its path and guards are the app's.
    class MountedLdapAdminController extends LdapAdminController {}
    Controller(page.path)(MountedLdapAdminController);
    UseGuards(...options.guards)(MountedLdapAdminController);
    return {
      module: LdapAdminModule,
      imports: options.imports ?? [],
      controllers: [MountedLdapAdminController],
      providers: [
        { provide: LDAP_ADMIN_OPTIONS, useValue: page },
        { provide: LdapAdminCsrf, useClass: options.csrf },
      ],
    };
  }
}
