import { Inject, Injectable, Logger } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { isLostDatabaseConnection } from '../persistence/lost-connection.js';
import { LdapSyncStore } from '../persistence/sync/ldap-sync.store.js';
import { LdapSyncLock } from '../persistence/sync/ldap-sync-lock.js';
import { LdapSyncRunLog } from '../persistence/sync/sync-run-log.js';
import type { ReadProgress } from '../model/directory-snapshot.js';
import { type AppState, planCounts, planIsEmpty, type SyncPlan } from '../model/sync-plan.js';
import { describeSyncChanges } from '../model/sync-changes.js';
import type { SyncReport } from '../model/sync-report.js';
import {
  DirectoryError,
  DirectoryUnavailableError,
  IncompleteDirectoryReadError,
  ServiceAccountBindError,
} from '../errors/ldap-auth.errors.js';
import { LdapAuthEventPublisher } from '../events/ldap-auth-event.publisher.js';
import { LDAP_AUTH_EVENTS } from '../events/ldap-auth.events.js';
import { fitSnapshotToColumns } from './fit-snapshot.js';
import { reconcile } from './reconcile.js';
import { LdapSyncReads } from './sync-reads.js';
import { errorText } from '../logging/one-line.js';
import { ldapAuthMetrics } from '../metrics/ldap-auth-metrics.js';

export interface SyncRunOptions {
  /** Compute the report, write nothing but the run's `ldap_sync_runs` row. */
  dryRun?: boolean;
  /** Go past LDAP_SYNC_MAX_REMOVALS and LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS. */
  force?: boolean;
  /** Called after each page and group read. */
  onProgress?: (progress: ReadProgress) => void;
  /** Read what changed since the stored cursor instead of the whole directory (see sync-reads.ts). */
  delta?: boolean;
}

const EMPTY_COUNTS = {
  usersSeen: 0,
  usersUpdated: 0,
  usersRemoved: 0,
  usersDeactivated: 0,
  usersReactivated: 0,
  groupsCreated: 0,
  groupsRenamed: 0,
  membershipsAdded: 0,
  membershipsRemoved: 0,
  removals: 0,
  maxRemovals: 0,
  membershipRemovals: 0,
  maxMembershipRemovals: 0,
  entriesRead: 0,
  pages: 0,
};

/** A safety rule stopped the run before anything was written. */
class SyncAbort extends Error {}

/**
 * The full reconciliation (the original's `sync_ldap_users_and_groups`): lock → read the whole directory
 * (directory/) → a snapshot, its values fitted to the columns → a pure plan (reconcile.ts) → one transaction
 * (persistence/sync/) → a record of the run. The schedule and the CLI both call `run`.
 */
@Injectable()
export class LdapSyncService {
  private readonly logger = new Logger(LdapSyncService.name);
  private current?: Promise<SyncReport>;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly directory: LdapDirectory,
    private readonly store: LdapSyncStore,
    private readonly reads: LdapSyncReads,
    private readonly syncLock: LdapSyncLock,
    private readonly runLog: LdapSyncRunLog,
    private readonly events: LdapAuthEventPublisher,
  ) {}

  /** Whether a run of this process is going on. */
  get running(): boolean {
    return !!this.current;
  }

  /** One run now. Never throws for a directory or safety problem: the report says how it ended. */
  async run(options: SyncRunOptions = {}): Promise<SyncReport> {
    if (this.current) {
      return this.skipped(options, 'a run is already going on in this process', false);
    }
    this.current = this.runLocked(options);
    try {
      return await this.current;
    } finally {
      this.current = undefined;
    }
  }

  private async runLocked(options: SyncRunOptions): Promise<SyncReport> {
    const lock = await this.syncLock.tryLock();
    // A scheduled delta every minute on each replica would fill ldap_sync_runs with skipped rows: not recorded.
    if (!lock)
      return this.skipped(options, 'another run holds the sync lock (another process or replica)', !options.delta);
    try {
      const interrupted = await this.runLog.markInterruptedRuns();
      if (interrupted) this.logger.warn(`${interrupted} earlier run(s) had been interrupted (the process ended)`);
      return await this.runOnce(options);
    } finally {
      await lock
        .release()
        .catch((error: unknown) => this.logger.error(`Could not release the sync lock: ${messageOf(error)}`));
    }
  }

  private async runOnce(options: SyncRunOptions): Promise<SyncReport> {
    const started = Date.now();
    const dryRun = !!options.dryRun;
    const requested = options.delta ? 'delta' : 'full';
    const runId = await this.runLog.startRun(dryRun, 'running', requested);
    this.events.emit(LDAP_AUTH_EVENTS.syncStarted, { runId, dryRun });
    const report: SyncReport = {
      status: 'succeeded',
      dryRun,
      mode: requested,
      runId,
      ...EMPTY_COUNTS,
      notes: [],
      durationMs: 0,
    };
    let error: string | undefined;
    try {
      const read = options.delta
        ? await this.reads.delta(options.onProgress)
        : await this.reads.whole(options.onProgress);
      report.mode = read.mode;
      if (read.modeReason) report.modeReason = read.modeReason;
      report.usersSeen = read.usersSeen;
      report.entriesRead = read.entriesRead;
      report.pages = read.pages;
      const { cursor } = read;
      if (!read.snapshot || !read.state) {
        // A delta that saw nothing change: only its cursor moves.
        if (!dryRun && cursor) await this.store.saveCursor(cursor);
        return await this.finish(report, started);
      }
      // Values shaped for the columns once, here, by the rules logins use: the plan then holds what is stored.
      const { snapshot, notes } = fitSnapshotToColumns(read.snapshot);
      report.notes.push(...notes);
      const { state } = read;
      // A scoped delta's snapshot holds only the changed users: it may rightly be empty.
      if (!state.scoped && snapshot.users.size === 0 && state.users.length > 0) {
        throw new SyncAbort(
          `the directory returned no user entries while the app has ${state.users.length} LDAP users: check LDAP_AUTH_SEARCH_BASE, LDAP_AUTH_OBJECT_CLASS and the service account's rights`,
        );
      }
      const plan = reconcile(snapshot, state, { removedUsers: this.options.sync.removedUsers });
      Object.assign(report, planCounts(plan));
      report.notes.push(...plan.notes);
      // Kept whatever happens next: a dry run's or an aborted run's list is what it would have changed.
      report.changes = describeSyncChanges(plan, state, { applied: false });
      this.checkSafety(plan, state, report, !!options.force);
      // Rows written without a username_key get it even when nothing else changes (apply fills them first).
      if (!dryRun && (!planIsEmpty(plan) || (state.unkeyedUsers ?? 0) > 0 || cursor)) {
        const groupIds = await this.store.apply(plan, this.options.defaultOrganisationId, cursor);
        if (this.events.enabled) this.publishChanges(plan, state, groupIds);
      }
      report.changes.applied = !dryRun;
    } catch (caught) {
      // A refused service account is a configuration fault that every run will meet again: failed, not aborted.
      const aborted =
        !(caught instanceof ServiceAccountBindError) &&
        (caught instanceof SyncAbort ||
          caught instanceof IncompleteDirectoryReadError ||
          caught instanceof DirectoryUnavailableError ||
          caught instanceof DirectoryError);
      report.status = aborted ? 'aborted' : 'failed';
      // A lost connection is an outage, not a bug: the reason says so, and no stack trace is kept for it (nor for
      // a refused service account, whose reason says everything).
      const lost = !aborted && isLostDatabaseConnection(caught);
      report.reason = lost ? `database connection lost during the sync (${messageOf(caught)})` : messageOf(caught);
      const quiet = aborted || lost || caught instanceof ServiceAccountBindError;
      error = caught instanceof Error && !quiet ? (caught.stack ?? caught.message) : undefined;
    }
    return this.finish(report, started, error);
  }

  private async finish(report: SyncReport, started: number, error?: string): Promise<SyncReport> {
    report.durationMs = Date.now() - started;
    const runId = report.runId!;
    await this.runLog
      .finishRun(runId, report.status, report, report.reason && (error ?? report.reason))
      .catch((e: unknown) => this.logger.error(`Could not record sync run ${runId}: ${messageOf(e)}`));
    this.logReport(report);
    if (!report.dryRun) {
      const written = report.changes?.applied ? report.changes.counts : {};
      ldapAuthMetrics.syncRun(report.mode, report.status, report.durationMs / 1000, written);
    }
    this.events.emit(report.status === 'succeeded' ? LDAP_AUTH_EVENTS.syncFinished : LDAP_AUTH_EVENTS.syncAborted, {
      report,
    });
    return report;
  }

  /** Throws SyncAbort when a safety rule forbids writing the plan (the report gets the counts either way). */
  private checkSafety(plan: SyncPlan, state: AppState, report: SyncReport, force: boolean): void {
    const { sync } = this.options;
    // Rows deactivated earlier are not at stake: counting them would loosen the guard as leavers pile up.
    const activeUsers = state.scoped?.activeUsers ?? state.users.reduce((n, user) => (user.isActive ? n + 1 : n), 0);
    report.removals = plan.removals;
    report.maxRemovals = maxRemovals(sync.maxRemovals, activeUsers);
    report.membershipRemovals = plan.membershipRemovals;
    report.maxMembershipRemovals = maxRemovals(sync.maxMembershipRemovals, plan.listedMemberships);
    if (plan.absentGroups.length) {
      // Not even with --force: a listed group's row is never deleted on an empty answer (see reconcile.ts).
      const dns = plan.absentGroups.map((g) => g.dn).join('; ');
      throw new SyncAbort(
        `the listed group(s) ${dns} returned no entry: deleted, or hidden from the sync account by the directory's access rules, which look the same. If a group was deleted, take it out of LDAP_SYNCED_GROUPS (its row is then left as it is)`,
      );
    }
    if (force) return;
    if (plan.removals > report.maxRemovals) {
      throw new SyncAbort(
        `the run would ${sync.removedUsers} ${plan.removals} of ${activeUsers} active LDAP users, more than LDAP_SYNC_MAX_REMOVALS allows (${report.maxRemovals}); run with --force if that is right`,
      );
    }
    if (plan.membershipRemovals > report.maxMembershipRemovals) {
      throw new SyncAbort(
        `the run would remove ${plan.membershipRemovals} of ${plan.listedMemberships} memberships of the listed groups, more than LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS allows (${report.maxMembershipRemovals}); run with --force if that is right`,
      );
    }
  }

  /** One event per changed user and per group whose members changed (after the transaction committed). */
  private publishChanges(plan: SyncPlan, state: AppState, groupIds: Map<string, number>): void {
    const source = 'sync' as const;
    const user = new Map(state.users.map((u) => [u.id, u]));
    const nameOf = (id: number) => user.get(id)?.username ?? '';
    for (const update of plan.userUpdates) {
      const before = user.get(update.id);
      const changed = (
        [
          ['username', before?.username, update.username],
          ['email', before?.email, update.email],
          ['first_name', before?.firstName, update.firstName],
          ['last_name', before?.lastName, update.lastName],
          ['ldap_dn', before?.dn, update.dn],
        ] as const
      )
        .filter(([, a, b]) => a !== b)
        .map(([column]) => column);
      this.events.emit(LDAP_AUTH_EVENTS.userUpdated, { userId: update.id, username: update.username, changed, source });
    }
    for (const id of plan.deactivate) {
      this.events.emit(LDAP_AUTH_EVENTS.userDeactivated, {
        userId: id,
        username: nameOf(id),
        reason: plan.removedIds.includes(id) ? 'removed' : 'disabled',
        source,
      });
    }
    for (const id of plan.reactivate) {
      this.events.emit(LDAP_AUTH_EVENTS.userReactivated, { userId: id, username: nameOf(id), source });
    }
    for (const id of plan.deleteUsers) {
      this.events.emit(LDAP_AUTH_EVENTS.userRemoved, { userId: id, username: nameOf(id), source });
    }
    const groupByDn = new Map(state.groups.map((g) => [g.dn, g]));
    const groupById = new Map(state.groups.map((g) => [g.id, g]));
    const changes = new Map<string, { added: number[]; removed: number[]; id?: number; name: string }>();
    const entry = (dn: string, id: number | undefined, name: string) => {
      let change = changes.get(dn);
      if (!change) changes.set(dn, (change = { added: [], removed: [], id, name }));
      return change;
    };
    for (const m of plan.addMemberships) {
      const group = groupByDn.get(m.groupDn);
      const created = plan.createGroups.find((g) => g.dn === m.groupDn);
      entry(m.groupDn, group?.id, group?.name ?? created?.name ?? '').added.push(m.userId);
    }
    for (const m of plan.removeMemberships) {
      const group = groupById.get(m.groupId);
      if (group) entry(group.dn, group.id, group.name).removed.push(m.userId);
    }
    for (const [dn, change] of changes) {
      this.events.emit(LDAP_AUTH_EVENTS.groupMembershipChanged, {
        groupId: change.id ?? groupIds.get(dn) ?? 0,
        groupDn: dn,
        groupName: change.name,
        added: change.added,
        removed: change.removed,
        source,
      });
    }
  }

  private async skipped(options: SyncRunOptions, reason: string, record: boolean): Promise<SyncReport> {
    const dryRun = !!options.dryRun;
    const mode = options.delta ? 'delta' : 'full';
    const report: SyncReport = { status: 'skipped', dryRun, mode, reason, ...EMPTY_COUNTS, notes: [], durationMs: 0 };
    if (record) {
      try {
        report.runId = await this.runLog.startRun(dryRun, 'skipped', mode);
        await this.runLog.finishRun(report.runId, 'skipped', report, reason);
      } catch (error) {
        this.logger.error(`Could not record the skipped run: ${messageOf(error)}`);
      }
    }
    this.logReport(report);
    if (!dryRun) ldapAuthMetrics.syncRun('full', 'skipped', 0);
    this.events.emit(LDAP_AUTH_EVENTS.syncAborted, { report });
    return report;
  }

  private logReport(r: SyncReport): void {
    const counts =
      `${r.usersSeen} users seen, ${r.usersUpdated} updated, ${r.usersRemoved} removed, ${r.usersDeactivated} deactivated, ` +
      `${r.usersReactivated} reactivated, ${r.groupsCreated} groups created, ` +
      `${r.membershipsAdded} memberships added, ${r.membershipsRemoved} removed`;
    const mode = r.mode === 'delta' ? 'delta ' : r.modeReason ? `full (${r.modeReason}) ` : '';
    const line = `LDAP ${mode}sync ${r.status}${r.dryRun ? ' (dry run)' : ''} in ${(r.durationMs / 1000).toFixed(1)} s: ${counts}${r.reason ? `. ${r.reason}` : ''}`;
    // A scheduled delta runs every minute: one that found nothing is not news.
    const changes = [r.usersUpdated, r.usersRemoved, r.usersDeactivated, r.usersReactivated, r.groupsCreated];
    const quiet =
      r.mode === 'delta' &&
      r.status === 'succeeded' &&
      [...changes, r.membershipsAdded, r.membershipsRemoved, r.notes.length].every((n) => n === 0);
    if (quiet) this.logger.debug(line);
    else if (r.status === 'succeeded') this.logger.log(line);
    else if (r.status === 'skipped') this.logger.warn(line);
    else this.logger.error(line);
    for (const note of r.notes.slice(0, 20)) this.logger.warn(`LDAP sync: ${note}`);
  }
}

/**
 * A removal limit as a number: a count, or a percentage (rounded up) of `base` (the active LDAP users for
 * LDAP_SYNC_MAX_REMOVALS, the listed groups' LDAP memberships for LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS).
 */
export function maxRemovals(limit: number | `${number}%`, base: number): number {
  if (typeof limit === 'number') return limit;
  return Math.ceil((parseFloat(limit) / 100) * base);
}

function messageOf(error: unknown): string {
  return errorText(error);
}
