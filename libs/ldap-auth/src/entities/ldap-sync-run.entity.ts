import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One run of the full reconciliation, kept for the operators. */
@Entity({ name: 'ldap_sync_runs' })
export class LdapSyncRunEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'started_at', type: Date })
  startedAt!: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  @Column({ type: 'varchar', length: 32 })
  status!: string;

  @Column({ name: 'dry_run', type: 'boolean', default: false })
  dryRun!: boolean;

  /** The report as JSON. */
  @Column({ type: 'text', nullable: true })
  report!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;
}
