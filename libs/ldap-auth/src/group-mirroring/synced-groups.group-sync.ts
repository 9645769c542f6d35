import { Inject, Injectable } from '@nestjs/common';
import { GroupSync, type GroupSyncPlan } from './group-sync.js';
import { firstRdnValue, normalizeDn } from '../model/dn.js';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import type { DirectoryGroup, DirectoryUser } from '../model/directory-user.js';

/**
 * `sync_user_groups`: mirrors each group of `LDAP_SYNCED_GROUPS` into the default organisation. A member is
 * put in the group (created on first sight, named from its `cn`); a non-member is taken out of it. Groups
 * that are not listed, and local groups, are never touched.
 */
@Injectable()
export class SyncedGroupsGroupSync extends GroupSync {
  private readonly groups: Array<{ ldapDn: string; name: string }>;

  constructor(@Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions) {
    super();
    const seen = new Set<string>();
    this.groups = [];
    for (const dn of options.syncedGroups) {
      const ldapDn = normalizeDn(dn);
      if (seen.has(ldapDn)) continue;
      seen.add(ldapDn);
      this.groups.push({ ldapDn, name: firstRdnValue(dn) });
    }
  }

  managedGroupDns(): string[] {
    return this.groups.map((g) => g.ldapDn);
  }

  plan(
    _user: DirectoryUser,
    memberOf: ReadonlySet<string>,
    groups: ReadonlyMap<string, DirectoryGroup>,
  ): GroupSyncPlan | null {
    if (this.options.defaultOrganisationId === undefined || this.groups.length === 0) return null;
    return {
      organisationId: this.options.defaultOrganisationId,
      // Named as the directory names it; the configured DN's spelling is only a fallback.
      join: this.groups
        .filter((g) => memberOf.has(g.ldapDn))
        .map((g) => ({ ldapDn: g.ldapDn, name: groups.get(g.ldapDn)?.name ?? g.name })),
      leave: this.groups.filter((g) => !memberOf.has(g.ldapDn)).map((g) => g.ldapDn),
    };
  }
}
