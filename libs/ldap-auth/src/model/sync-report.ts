/**
 * How a full sync run ended, as the service returns it, the run log stores it and the events carry it. Pure
 * data: the service (sync/), the run log (persistence/sync/) and the events all import it from here.
 */
import type { SyncChanges } from './sync-changes.js';

/** A run's status in `ldap_sync_runs`: `running` while it lasts, `interrupted` when its process died. */
export type SyncRunStatus = 'running' | 'succeeded' | 'aborted' | 'failed' | 'skipped' | 'interrupted';

/**
 * How a run ended. `aborted`: a safety rule stopped it before anything was written (incomplete read, zero
 * users, too many removals); `failed`: an unexpected error (nothing was written either: one transaction);
 * `skipped`: another run held the lock.
 */
export type SyncOutcome = Exclude<SyncRunStatus, 'running' | 'interrupted'>;

/**
 * What a run read: `full`, the whole directory; `delta`, what changed since the stored cursor (a delta run
 * reads everything when it has no usable cursor, and then says `full` and why in `modeReason`).
 */
export type SyncMode = 'full' | 'delta';

/** What `npm run sync -- --json` prints and `ldap_sync_runs.report` holds. */
export interface SyncReport {
  status: SyncOutcome;
  dryRun: boolean;
  mode: SyncMode;
  /** Why a run asked for as a delta read the directory whole. */
  modeReason?: string;
  /** Why it aborted, failed or was skipped. */
  reason?: string;
  /** The `ldap_sync_runs` row. */
  runId?: number;
  /** User entries the directory holds (matching the filter and the login group). */
  usersSeen: number;
  usersUpdated: number;
  usersRemoved: number;
  usersDeactivated: number;
  usersReactivated: number;
  groupsCreated: number;
  groupsRenamed: number;
  membershipsAdded: number;
  membershipsRemoved: number;
  /** Users the run would delete or deactivate, and the limit that applied (LDAP_SYNC_MAX_REMOVALS). */
  removals: number;
  maxRemovals: number;
  /**
   * Memberships the run would take from users who stay, and the limit that applied
   * (LDAP_SYNC_MAX_MEMBERSHIP_REMOVALS).
   */
  membershipRemovals: number;
  maxMembershipRemovals: number;
  /** LDAP entries read and result pages, for the record. */
  entriesRead: number;
  pages: number;
  notes: string[];
  durationMs: number;
  /**
   * What the run changed (or would change: dry run, safety abort), per user and group, bounded (see
   * SyncChanges); absent when no plan was made (skipped, or stopped before the plan).
   */
  changes?: SyncChanges;
}

/** One row of `ldap_sync_runs`, as LdapSyncHistory reads it. */
export interface SyncRunRecord {
  id: number;
  startedAt: Date;
  /** Null while it runs. */
  finishedAt: Date | null;
  status: SyncRunStatus;
  dryRun: boolean;
  /** The report without its change list (null while it runs). */
  report: SyncReport | null;
  error: string | null;
  /** Null for runs that made no plan, and for runs recorded before the changes were kept. */
  changes: SyncChanges | null;
}
