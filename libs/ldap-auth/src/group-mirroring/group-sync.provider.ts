import type { Provider, Type } from '@nestjs/common';
import { GroupSync } from './group-sync.js';
import { NoGroupSync } from './no-group-sync.js';
import { SyncedGroupsGroupSync } from './synced-groups.group-sync.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';

/** The app's own group sync when it gave one, otherwise the built-in named by `groupSync`. */
export function groupSyncProvider(custom?: Type<GroupSync>): Provider {
  if (custom) return { provide: GroupSync, useClass: custom };
  return {
    provide: GroupSync,
    inject: [LDAP_AUTH_RESOLVED_OPTIONS],
    useFactory: (options: ResolvedLdapAuthOptions): GroupSync =>
      options.groupSync === 'sync_user_groups' ? new SyncedGroupsGroupSync(options) : new NoGroupSync(),
  };
}
