import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { SYNC_RUN_STATUS_MAX_LENGTH } from './column-limits.js';

/** One run of the full reconciliation, kept for the operators. */
@Entity({ name: 'ldap_sync_runs' })
export class LdapSyncRunEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'started_at', type: Date })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'varchar', length: SYNC_RUN_STATUS_MAX_LENGTH })
  status!: string;

  /** `full` (a whole read) or `delta` (what changed since the stored cursor). */
  @Column({ type: 'varchar', length: 16, default: 'full' })
  mode!: string;

  @Column({ name: 'dry_run', type: 'boolean', default: false })
  dryRun!: boolean;

  /** The report as JSON. */
  @Column({ type: 'text', nullable: true })
  report!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** What the run changed (or would change), as JSON: model/sync-changes.ts's SyncChanges. */
  @Column({ type: 'text', nullable: true })
  changes!: string | null;
}
