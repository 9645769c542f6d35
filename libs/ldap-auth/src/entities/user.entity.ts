import {
  Column,
  CreateDateColumn,
  Entity,
  JoinTable,
  ManyToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { GroupEntity } from './group.entity.js';
import { OrganisationEntity } from './organisation.entity.js';

/** An app user. `ldapUuid` (entryUUID / objectGUID) is set for directory users, null for local ones. */
@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: 255, unique: true })
  username!: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  email!: string | null;

  @Column({ name: 'first_name', type: 'varchar', length: 255, nullable: true })
  firstName!: string | null;

  @Column({ name: 'last_name', type: 'varchar', length: 255, nullable: true })
  lastName!: string | null;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive!: boolean;

  @Column({ name: 'ldap_dn', type: 'varchar', length: 1024, nullable: true })
  ldapDn!: string | null;

  @Column({ name: 'ldap_uuid', type: 'varchar', length: 64, nullable: true, unique: true })
  ldapUuid!: string | null;

  @Column({ name: 'last_login_at', type: Date, nullable: true })
  lastLoginAt!: Date | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;

  @ManyToMany(() => OrganisationEntity)
  @JoinTable({
    name: 'user_organisations',
    joinColumn: { name: 'user_id' },
    inverseJoinColumn: { name: 'organisation_id' },
  })
  organisations?: OrganisationEntity[];

  @ManyToMany(() => GroupEntity)
  @JoinTable({ name: 'user_groups', joinColumn: { name: 'user_id' }, inverseJoinColumn: { name: 'group_id' } })
  groups?: GroupEntity[];
}
