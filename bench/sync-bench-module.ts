/**
 * The Nest module every library sync of the bench runs in (the full syncs' child and the delta section's child):
 * the app database, and LdapAuthModule on the bench's slapd as a user would configure it for syncing.
 */
import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseOptionsFromUrl, LdapAuthModule, type LdapSyncOptions } from '../libs/ldap-auth/src/index.js';

export interface BenchSyncDirectory {
  url: string;
  peopleDn: string;
  groupsDn: string;
  serviceDn: string;
  servicePassword: string;
}

export function syncBenchModule(
  databaseUrl: string,
  directory: BenchSyncDirectory,
  syncedGroups: string[],
  organisationId: number,
  sync: Partial<LdapSyncOptions> = {},
): Type {
  const ldapAuth: DynamicModule = LdapAuthModule.forRoot({
    server: {
      url: directory.url,
      bindDN: directory.serviceDn,
      bindCredentials: directory.servicePassword,
      searchBase: directory.peopleDn,
      groupSearchBase: directory.groupsDn,
    },
    groupSync: 'sync_user_groups',
    syncedGroups,
    defaultOrganisationId: organisationId,
    // slapadd does not run the memberof overlay: the groups' member values say who is in them.
    groupMembership: 'member',
    sync: { enabled: false, removedUsers: 'delete', maxRemovals: '10%', ...sync },
  });
  @Module({ imports: [TypeOrmModule.forRoot(databaseOptionsFromUrl(databaseUrl)), ldapAuth] })
  class SyncBenchModule {}
  return SyncBenchModule;
}
