import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The full sync's lock where the database has no advisory locks (SQLite): one row while a run writes. */
@Entity({ name: 'ldap_sync_lock' })
export class LdapSyncLockEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** `host:pid:random` of the process holding it (a dead process on this host frees it at once). */
  @Column({ type: 'varchar', length: 255 })
  holder!: string;

  @Column({ name: 'acquired_at', type: Date })
  acquiredAt!: Date;

  /** Renewed while the run lasts; past it, the lock is free. */
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;
}
