import type { CheckConnection } from '../../directory/check-connection.js';
import { countsPrimaryGroups } from '../../directory/posix-groups.js';
import { normalizeDn } from '../../model/dn.js';
import type { CheckRun } from '../check-report.js';
import { type CheckContext, NO_USABLE_URL } from './check-context.js';

/** A group DN the configuration lists, as written, normalised, and with the variables that list it. */
export interface ListedGroup {
  dn: string;
  normalized: string;
  variables: string[];
}

/** LDAP_SYNCED_GROUPS and LDAP_LOGIN_GROUP, each DN once, with the variables that name it. */
export function listedGroups(ctx: CheckContext): ListedGroup[] {
  const groups = new Map<string, ListedGroup>();
  const add = (dn: string, variable: string) => {
    const normalized = normalizeDn(dn);
    const known = groups.get(normalized);
    if (known) {
      if (!known.variables.includes(variable)) known.variables.push(variable);
    } else {
      groups.set(normalized, { dn, normalized, variables: [variable] });
    }
  };
  for (const dn of ctx.options.syncedGroups) add(dn, 'LDAP_SYNCED_GROUPS');
  for (const dn of ctx.groupSync.managedGroupDns()) add(dn, 'LDAP_SYNCED_GROUPS');
  if (ctx.options.loginGroup) add(ctx.options.loginGroup, 'LDAP_LOGIN_GROUP');
  return [...groups.values()];
}

/** Step 6 (`group1`, `group2`…): each listed group exists and is a group, with its direct member count. */
export async function checkListedGroups(
  ctx: CheckContext,
  run: CheckRun,
  connection: CheckConnection | undefined,
): Promise<void> {
  const blockedBy = connection ? undefined : NO_USABLE_URL;
  const memberAttribute =
    ctx.options.groupMembership === 'uniqueMember' || ctx.options.groupMembership === 'memberUid'
      ? ctx.options.groupMembership
      : 'member';
  for (const [index, group] of listedGroups(ctx).entries()) {
    const variables = group.variables;
    await run.step(`group${index + 1}`, `group ${group.dn}`, { blockedBy, needs: ['serviceBind'] }, async () => {
      const found = await connection!.readGroup(group.dn, memberAttribute);
      if (!found) {
        return {
          status: 'fail',
          summary: `does not exist (${variables.join(', ')})`,
          hint: variables.includes('LDAP_LOGIN_GROUP')
            ? 'set LDAP_LOGIN_GROUP to the DN of an existing group: with a login group that does not exist nobody may log in and the full sync aborts'
            : 'fix or remove this DN in LDAP_SYNCED_GROUPS (colon-separated group DNs): logins ignore it and the full sync deletes its app group',
          variables,
        };
      }
      const data = { ...found };
      if (!found.isGroup) {
        return {
          status: 'warn',
          summary: `exists but is not a group (objectClass ${found.objectClasses.join(', ')}) (${variables.join(', ')})`,
          hint: `check ${variables.join(' / ')}: it should name a group entry`,
          variables,
          data,
        };
      }
      // gidNumber is only read off a posixGroup on a server that is not AD.
      const primary =
        found.gidNumber !== undefined && countsPrimaryGroups(ctx.options.groupMembership, false)
          ? `, and the users whose gidNumber is ${found.gidNumber} (their primary group)`
          : '';
      return {
        status: 'ok',
        summary: `exists: "${found.name}", ${found.memberValues} direct member value${found.memberValues === 1 ? '' : 's'} (${memberAttribute})${primary} (${variables.join(', ')})`,
        data,
      };
    });
  }
}
