import { GroupEntity } from './group.entity.js';
import { LdapSyncCursorEntity } from './ldap-sync-cursor.entity.js';
import { LdapSyncLockEntity } from './ldap-sync-lock.entity.js';
import { LdapSyncRunEntity } from './ldap-sync-run.entity.js';
import { OrganisationEntity } from './organisation.entity.js';
import { UserEntity } from './user.entity.js';

export { GroupEntity, LdapSyncCursorEntity, LdapSyncLockEntity, LdapSyncRunEntity, OrganisationEntity, UserEntity };

/** Every entity of the library: list them in your TypeORM options (or use `autoLoadEntities`). */
export const LDAP_AUTH_ENTITIES = [
  OrganisationEntity,
  UserEntity,
  GroupEntity,
  LdapSyncRunEntity,
  LdapSyncLockEntity,
  LdapSyncCursorEntity,
];
export * from './column-limits.js';
