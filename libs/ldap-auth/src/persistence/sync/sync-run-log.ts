import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ldapAuthMetrics } from '../../metrics/ldap-auth-metrics.js';
import { LdapSyncRunEntity } from '../../entities/ldap-sync-run.entity.js';
import type { SyncRunStatus } from '../../model/sync-report.js';
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

  async startRun(dryRun: boolean, status: SyncRunStatus = 'running'): Promise<number> {
    return this.transactions.serialized(async () => {
      const runs = this.transactions.dataSource.getRepository(LdapSyncRunEntity);
      const result = await runs.insert({ startedAt: new Date(), status, dryRun });
      return Number((result.identifiers[0] as { id: number }).id);
    });
  }

  async finishRun(id: number, status: SyncRunStatus, report: unknown, error?: string): Promise<void> {
    await this.transactions.serialized(() =>
      this.transactions.dataSource
        .getRepository(LdapSyncRunEntity)
        .update(
          { id },
          { finishedAt: new Date(), status, report: this.reportText(report), error: this.fitText(error ?? null) },
        ),
    );
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
