import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { OrganisationEntity } from './organisation.entity.js';
import { DN_MAX_LENGTH, GROUP_NAME_MAX_LENGTH } from './column-limits.js';

/** An app group. `ldapDn` (normalised) is set for groups mirrored from the directory, null for local ones. */
@Entity({ name: 'groups' })
@Index('UQ_groups_organisation_ldap_dn', ['organisationId', 'ldapDn'], { unique: true })
export class GroupEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'organisation_id', type: 'integer' })
  organisationId!: number;

  @ManyToOne(() => OrganisationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'organisation_id' })
  organisation?: OrganisationEntity;

  @Column({ type: 'varchar', length: GROUP_NAME_MAX_LENGTH })
  name!: string;

  @Column({ name: 'ldap_dn', type: 'varchar', length: DN_MAX_LENGTH, nullable: true })
  ldapDn!: string | null;
}
