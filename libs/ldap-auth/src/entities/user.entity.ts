import {
  BeforeInsert,
  BeforeUpdate,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinTable,
  ManyToMany,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { GroupEntity } from './group.entity.js';
import { OrganisationEntity } from './organisation.entity.js';
import {
  DN_MAX_LENGTH,
  EMAIL_MAX_LENGTH,
  LDAP_UUID_MAX_LENGTH,
  PERSON_NAME_MAX_LENGTH,
  USERNAME_MAX_LENGTH,
} from './column-limits.js';
import { USERNAME_KEY_MAX_LENGTH, usernameKey } from '../model/username-key.js';

/** The unique index on `users.username_key` (migration UsernameKey1796342400000). */
export const USERNAME_KEY_INDEX = 'UQ_users_username_key';

/** The index on `LOWER(users.ldap_dn)` (migration LdapDnLookupIndex1796601600000; PostgreSQL and SQLite). */
export const LDAP_DN_LOWER_INDEX = 'IDX_users_ldap_dn_lower';

/** An app user. `ldapUuid` (entryUUID / objectGUID) is set for directory users, null for local ones. */
@Entity({ name: 'users' })
// An index on an expression, which TypeORM cannot describe: declared so that its schema sync keeps it.
@Index(LDAP_DN_LOWER_INDEX, { synchronize: false })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: USERNAME_MAX_LENGTH, unique: true })
  username!: string;

  /**
   * `usernameKey(username)`: two rows are "the same username" when their keys are equal, on every database
   * (unique). The library writes it with every name it writes; null on a row written without it (an app's own
   * insert): the library then computes it from `username` and fills it in (see persistence/username-keys.ts).
   */
  @Index(USERNAME_KEY_INDEX, { unique: true })
  @Column({ name: 'username_key', type: 'varchar', length: USERNAME_KEY_MAX_LENGTH, nullable: true })
  usernameKey!: string | null;

  @Column({ type: 'varchar', length: EMAIL_MAX_LENGTH, nullable: true })
  email!: string | null;

  @Column({ name: 'first_name', type: 'varchar', length: PERSON_NAME_MAX_LENGTH, nullable: true })
  firstName!: string | null;

  @Column({ name: 'last_name', type: 'varchar', length: PERSON_NAME_MAX_LENGTH, nullable: true })
  lastName!: string | null;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive!: boolean;

  /** The full sync deactivated this user (disabled or removed in the directory); only then may it reactivate them. */
  @Column({ name: 'deactivated_by_sync', type: 'boolean', default: false })
  deactivatedBySync!: boolean;

  @Column({ name: 'ldap_dn', type: 'varchar', length: DN_MAX_LENGTH, nullable: true })
  ldapDn!: string | null;

  @Column({ name: 'ldap_uuid', type: 'varchar', length: LDAP_UUID_MAX_LENGTH, nullable: true, unique: true })
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

  /** An app that saves its own users through this entity keeps the key right without knowing about it. */
  @BeforeInsert()
  @BeforeUpdate()
  protected keepUsernameKey(): void {
    if (typeof this.username === 'string') this.usernameKey = usernameKey(this.username);
  }

  @ManyToMany(() => GroupEntity)
  @JoinTable({ name: 'user_groups', joinColumn: { name: 'user_id' }, inverseJoinColumn: { name: 'group_id' } })
  groups?: GroupEntity[];
}
