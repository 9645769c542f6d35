import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Where the delta sync's last run left its reads of the directory (see model/sync-cursor.ts). */
@Entity({ name: 'ldap_sync_cursors' })
export class LdapSyncCursorEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  /** The cursor as JSON. */
  @Column({ type: 'text' })
  cursor!: string;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;
}
