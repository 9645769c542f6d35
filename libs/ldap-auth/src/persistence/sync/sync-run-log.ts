import { Injectable } from '@nestjs/common';
import { LdapSyncRunEntity } from '../../entities/ldap-sync-run.entity.js';
import type { SyncMode, SyncRunStatus } from '../../model/sync-report.js';
import { TransactionRunner } from '../transaction-runner.js';

/** MySQL's TEXT: 65,535 bytes. */
const MYSQL_TEXT_BYTES = 65_535;

/** The record of full sync runs (`ldap_sync_runs`): one row per run, from its start to its report. */
@Injectable()
export class LdapSyncRunLog {
  constructor(private readonly transactions: TransactionRunner) {}

  async startRun(dryRun: boolean, status: SyncRunStatus = 'running', mode: SyncMode = 'full'): Promise<number> {
    return this.transactions.serialized(async () => {
      const runs = this.transactions.dataSource.getRepository(LdapSyncRunEntity);
      const result = await runs.insert({ startedAt: new Date(), status, dryRun, mode });
      return Number((result.identifiers[0] as { id: number }).id);
    });
  }

  /** `mode`: what the run turned out to read (a delta run may read everything: see SyncReport.mode). */
  async finishRun(id: number, status: SyncRunStatus, report: unknown, error?: string, mode?: SyncMode): Promise<void> {
    await this.transactions.serialized(() =>
      this.transactions.dataSource.getRepository(LdapSyncRunEntity).update(
        { id },
        {
          finishedAt: new Date(),
          status,
          report: this.reportText(report),
          error: this.fitText(error ?? null),
          ...(mode ? { mode } : {}),
        },
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
