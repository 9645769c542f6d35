import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ldapAuthMetrics } from '../../metrics/ldap-auth-metrics.js';
import { LdapSyncRunEntity } from '../../entities/ldap-sync-run.entity.js';
import type { SyncMode, SyncReport, SyncRunRecord, SyncRunStatus } from '../../model/sync-report.js';
import type { SyncChanges } from '../../model/sync-changes.js';
import { TransactionRunner } from '../transaction-runner.js';

/** MySQL's TEXT: 65,535 bytes. */
const MYSQL_TEXT_BYTES = 65_535;

/** The record of full sync runs (`ldap_sync_runs`): one row per run, from its start to its report. */
@Injectable()
export class LdapSyncRunLog implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopObserving?: () => void;

  constructor(private readonly transactions: TransactionRunner) {}

  /** ldap_auth_sync_last_success_timestamp_seconds comes from here: it sees runs of every process (the CLI's too). */
  onApplicationBootstrap(): void {
    this.stopObserving = ldapAuthMetrics.observeLastSyncSuccess(() => this.lastSuccess());
  }

  onApplicationShutdown(): void {
    this.stopObserving?.();
  }

  /** When the newest run that succeeded and wrote (not a dry run) finished; undefined when none did. */
  async lastSuccess(): Promise<Date | undefined> {
    const run = await this.transactions.dataSource.getRepository(LdapSyncRunEntity).findOne({
      select: { id: true, finishedAt: true },
      where: { status: 'succeeded', dryRun: false },
      order: { id: 'DESC' },
    });
    return run?.finishedAt ?? undefined;
  }

  async startRun(dryRun: boolean, status: SyncRunStatus = 'running', mode: SyncMode = 'full'): Promise<number> {
    return this.transactions.serialized(async () => {
      const runs = this.transactions.dataSource.getRepository(LdapSyncRunEntity);
      const result = await runs.insert({ startedAt: new Date(), status, dryRun, mode });
      return Number((result.identifiers[0] as { id: number }).id);
    });
  }

  /** The run's end: its report (stored without its change list, with the mode it turned out to read), and the change list in its own column. */
  async finishRun(id: number, status: SyncRunStatus, report: SyncReport, error?: string): Promise<void> {
    const { changes, ...counts } = report;
    await this.transactions.serialized(() =>
      this.transactions.dataSource.getRepository(LdapSyncRunEntity).update(
        { id },
        {
          finishedAt: new Date(),
          status,
          report: this.reportText(counts),
          error: this.fitText(error ?? null),
          changes: changes ? this.changesText(changes) : null,
          mode: report.mode,
        },
      ),
    );
  }

  /** One run as recorded, or null when there is none with that id. */
  async readRun(id: number): Promise<SyncRunRecord | null> {
    const row = await this.transactions.dataSource.getRepository(LdapSyncRunEntity).findOneBy({ id });
    return row ? recordOf(row) : null;
  }

  /** The newest runs first, each with its change counts but not its change list. */
  async recentRuns(limit: number): Promise<SyncRunRecord[]> {
    const rows = await this.transactions.dataSource
      .getRepository(LdapSyncRunEntity)
      .find({ order: { id: 'DESC' }, take: limit });
    return rows.map((row) => {
      const record = recordOf(row);
      return record.changes ? { ...record, changes: { ...record.changes, records: [] } } : record;
    });
  }

  /** Marks runs left `running` by a process that died (called while holding the lock: none is running). */
  async markInterruptedRuns(): Promise<number> {
    return this.transactions.serialized(async () => {
      const result = await this.transactions.dataSource
        .getRepository(LdapSyncRunEntity)
        .update(
          { status: 'running' },
          { status: 'interrupted', finishedAt: new Date(), error: 'the process ended during the run' },
        );
      return result.affected ?? 0;
    });
  }

  /**
   * The report as stored. MySQL's TEXT holds 65,535 bytes (PostgreSQL's and SQLite's have no such limit), and
   * a run with many notes can write more: there the notes are cut to fit, saying how many were left out.
   */
  private reportText(report: unknown): string {
    return this.mysql ? reportWithin(report, MYSQL_TEXT_BYTES) : JSON.stringify(report);
  }

  /** The change list as stored: on MySQL cut to TEXT's 64 KB, the records left out counted in `omitted`. */
  private changesText(changes: SyncChanges): string {
    return this.mysql ? changesWithin(changes, MYSQL_TEXT_BYTES) : JSON.stringify(changes);
  }

  /** An error message cut to MySQL's TEXT (whole characters); unchanged elsewhere. */
  private fitText(text: string | null): string | null {
    if (text === null || !this.mysql) return text;
    const bytes = Buffer.from(text);
    if (bytes.length <= MYSQL_TEXT_BYTES) return text;
    return new TextDecoder().decode(bytes.subarray(0, MYSQL_TEXT_BYTES - 4)).replace(/\uFFFD$/, '');
  }

  private get mysql(): boolean {
    return this.transactions.dialect.kind === 'mysql';
  }
}

/** The report as JSON of at most `maxBytes` bytes: notes are left out (and counted) until it fits. */
export function reportWithin(report: unknown, maxBytes: number): string {
  const json = JSON.stringify(report);
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const { notes = [], ...rest } = report as { notes?: string[] };
  const omitted = (count: number) => `${count} more note(s) not stored: MySQL's TEXT column holds 64 KB`;
  let kept = notes.length;
  let fitted = json;
  while (Buffer.byteLength(fitted) > maxBytes && kept > 0) {
    kept = Math.floor(kept / 2);
    fitted = JSON.stringify({ ...rest, notes: [...notes.slice(0, kept), omitted(notes.length - kept)] });
  }
  return fitted;
}

/** The change list as JSON of at most `maxBytes` bytes: the last records are left out (and counted) until it fits. */
export function changesWithin(changes: SyncChanges, maxBytes: number): string {
  let json = JSON.stringify(changes);
  let kept = changes.records.length;
  while (Buffer.byteLength(json) > maxBytes && kept > 0) {
    // Shrink in proportion to the excess (and by at least one record): a few passes, not one per record.
    kept = Math.min(kept - 1, Math.floor((kept * maxBytes) / Buffer.byteLength(json)));
    const records = changes.records.slice(0, kept);
    json = JSON.stringify({ ...changes, records, omitted: changes.total - records.length });
  }
  return json;
}

function recordOf(row: LdapSyncRunEntity): SyncRunRecord {
  return {
    id: row.id,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    status: row.status as SyncRunStatus,
    dryRun: row.dryRun,
    report: row.report ? (JSON.parse(row.report) as SyncReport) : null,
    error: row.error,
    changes: row.changes ? (JSON.parse(row.changes) as SyncChanges) : null,
  };
}
