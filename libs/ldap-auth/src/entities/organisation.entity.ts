import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { ORGANISATION_NAME_MAX_LENGTH } from './column-limits.js';

@Entity({ name: 'organisations' })
export class OrganisationEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ type: 'varchar', length: ORGANISATION_NAME_MAX_LENGTH })
  name!: string;
}
