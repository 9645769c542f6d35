import { Inject, Injectable } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import type { ServerState } from '../directory/ldap-connections.js';
import { normalizeDn } from '../model/dn.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import type { SyncReport, SyncRunRecord } from '../model/sync-report.js';
import { recentLdapOperations, type OperationLatency } from '../metrics/recent-operations.js';
import { LdapSyncService } from '../sync/ldap-sync.service.js';
import { LdapSyncHistory } from '../sync/ldap-sync-history.service.js';
import { LdapCheck } from '../check/ldap-check.service.js';
import type { CheckReport } from '../check/check-report.js';
import { LdapHealthIndicator, type LdapDirectoryHealth } from '../health/ldap-health.indicator.js';

/** Entries the page's check counts at most: enough to tell a filter that matches nobody, cheap on every view. */
export const ADMIN_PAGE_MAX_COUNTED_ENTRIES = 1_000;

/** What the page shows about the directory. */
export interface DirectoryFacts {
  /** `ldap:check` without a user: per URL DNS, TCP, TLS and certificate; root DSE; service account; groups. */
  check: CheckReport;
  /** The pool's failover state (which URLs failed, where connections go). */
  servers: ServerState;
  health: LdapDirectoryHealth;
  /** This process's latest LDAP requests, by operation. */
  latencies: OperationLatency[];
  loginMode: ResolvedLdapAuthOptions['loginMode'];
  searchBase: string;
}

/** What the page shows about the sync. */
export interface SyncOverview {
  schedule: ResolvedLdapAuthOptions['sync'];
  running: boolean;
  runs: SyncRunRecord[];
}

/**
 * What the admin page reads and does, through the library's own services: the check (`ldap:check`'s code), the
 * health indicator, the sync and its history; nothing here speaks LDAP or SQL itself. Provided by
 * LdapAuthModule (it needs the directory), used by LdapAdminModule's controller and by an app's admin guard.
 */
@Injectable()
export class LdapAdminService {
  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
    private readonly directory: LdapDirectory,
    private readonly check: LdapCheck,
    private readonly health: LdapHealthIndicator,
    private readonly sync: LdapSyncService,
    private readonly history: LdapSyncHistory,
  ) {}

  async directoryFacts(): Promise<DirectoryFacts> {
    const [check, health] = await Promise.all([
      this.check.run({ maxCountedEntries: ADMIN_PAGE_MAX_COUNTED_ENTRIES }),
      this.health.state(),
    ]);
    return {
      check,
      health,
      servers: this.directory.serverState(),
      latencies: recentLdapOperations.latencies(),
      loginMode: this.options.loginMode,
      searchBase: this.options.server.searchBase,
    };
  }

  async syncOverview(limit = 15): Promise<SyncOverview> {
    return { schedule: this.options.sync, running: this.sync.running, runs: await this.history.recentRuns(limit) };
  }

  /** One run with its change list; null when there is none with that id. */
  syncRun(id: number): Promise<SyncRunRecord | null> {
    return this.history.run(id);
  }

  /** A full dry run: the plan (report.changes), recorded like every run, nothing else written. */
  preview(): Promise<SyncReport> {
    return this.sync.run({ dryRun: true });
  }

  /** `ldap:check --user`'s steps for one user; without a password the service account finds the entry. */
  testUser(name: string, password?: string): Promise<CheckReport> {
    return this.check.runUser({ name, password: password || undefined });
  }

  /**
   * Whether the user with this login name is a member of `groupDn` now, as the directory says (read with the
   * service account; nested groups as LDAP_NESTED_GROUPS says), matched as logins match LDAP_LOGIN_GROUP:
   * by the DN's canonical form or the entry's DN as the server spells it, never by any looser folding
   * (ListedGroupMatcher). False when the user or the group is not found; throws when the directory cannot say.
   */
  async isMember(username: string, groupDn: string): Promise<boolean> {
    const key = normalizeDn(groupDn);
    return this.directory.withServiceSession(async (session) => {
      let user;
      try {
        user = await session.findUser(this.formatter.toLookupName(username));
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return false;
        throw error;
      }
      const known = await session.readGroups([key]);
      if (!known.has(key)) return false;
      return (await session.membership(user, [key], known)).has(key);
    });
  }
}
