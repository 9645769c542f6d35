import { Injectable } from '@nestjs/common';
import { LdapSyncRunLog } from '../persistence/sync/sync-run-log.js';
import type { SyncRunRecord } from '../model/sync-report.js';

/**
 * The record of sync runs (`ldap_sync_runs`) for people: a run with what it changed, and the latest runs. What
 * `npm run sync -- --show <id>` prints; for an admin page too.
 */
@Injectable()
export class LdapSyncHistory {
  constructor(private readonly runLog: LdapSyncRunLog) {}

  /**
   * One run: status, report, and its changes (`changes.records`: the first SYNC_CHANGE_RECORD_LIMIT, with
   * values before and after; `changes.counts`: all of them). Null when no run has that id.
   */
  run(id: number): Promise<SyncRunRecord | null> {
    return this.runLog.readRun(id);
  }

  /** The newest `limit` runs, newest first, with their change counts (their change lists: `run(id)`). */
  recentRuns(limit = 20): Promise<SyncRunRecord[]> {
    return this.runLog.recentRuns(limit);
  }
}
