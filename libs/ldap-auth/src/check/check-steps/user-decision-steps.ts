import { stableIdAttribute } from '../../directory/active-directory.js';
import type { DirectoryGroup, DirectoryUser } from '../../model/directory-user.js';
import { normalizeDn } from '../../model/dn.js';
import { loginGroupDns } from '../../login/user-lookup.js';
import type { CheckRun, StepOutcome, UserCheckSummary } from '../check-report.js';
import type { CheckContext } from './check-context.js';
import { listedGroups } from './group-steps.js';

/** What the login path read for the user: the entry, the listed groups that exist, and the user's memberships. */
export interface UserFound {
  user: DirectoryUser;
  known: Map<string, DirectoryGroup>;
  memberOf: Set<string>;
  /** Those of memberOf the user is in directly, as the login read it (not through nesting). */
  direct: Set<string>;
}

/**
 * Steps `user.groups` and `user.login`: the user's listed groups, then what LdapLoginService would decide
 * (the login group, then the group plan), filling `summary`. Nothing is written.
 */
export async function checkUserDecision(
  ctx: CheckContext,
  run: CheckRun,
  summary: UserCheckSummary,
  found: UserFound | undefined,
  /** The outcome of `user.groups` when reading the groups failed. */
  groupsFailure: StepOutcome | undefined,
): Promise<void> {
  await run.step('user.groups', 'user groups', { needs: ['user.entry'] }, () => {
    if (groupsFailure) return groupsFailure;
    const { known, memberOf, direct } = found!;
    const listed = listedGroups(ctx);
    summary.groups = listed.map((g) => {
      const member = memberOf.has(g.normalized);
      const how = member ? (direct.has(g.normalized) ? ('direct' as const) : ('nested' as const)) : undefined;
      return { dn: g.dn, exists: known.has(g.normalized), member, how };
    });
    if (!listed.length) {
      return { status: 'ok', summary: 'no groups listed (LDAP_SYNCED_GROUPS, LDAP_LOGIN_GROUP): nothing to check' };
    }
    const details = summary.groups.map(
      (g) =>
        `${g.member ? 'member    ' : 'not member'} ${g.dn}${g.how ? ` (${g.how})` : ''}${g.exists ? '' : ' (does not exist)'}`,
    );
    if (!ctx.options.nestedGroups)
      details.push('LDAP_NESTED_GROUPS=false: membership through nested groups does not count');
    const count = summary.groups.filter((g) => g.member).length;
    return {
      status: 'ok',
      summary: `member of ${count} of the ${listed.length} listed group${listed.length === 1 ? '' : 's'}`,
      details,
      data: { groups: summary.groups },
    };
  });
  await run.step('user.login', 'login decision', { needs: ['user.groups'] }, () => {
    const { user, known, memberOf } = found!;
    // What LdapLoginService decides: the login group, then the group plan. Only what it uses counts.
    const loginGroups = new Set(loginGroupDns(ctx.groupSync, ctx.options.loginGroup));
    const loginMemberOf = new Set([...memberOf].filter((dn) => loginGroups.has(dn)));
    const loginGroup = ctx.options.loginGroup;
    const notChecked =
      'not checked here: the app’s own database (a user deactivated in the app, or a username held by a local user, is refused at login)';
    if (loginGroup && !loginMemberOf.has(normalizeDn(loginGroup))) {
      summary.mayLogIn = false;
      summary.refusal = `not a member of the login group ${loginGroup}`;
      return {
        status: 'fail',
        summary: `this user may NOT log in: ${user.dn} is not a member of the login group ${loginGroup} (LDAP_LOGIN_GROUP)`,
        hint: ctx.options.nestedGroups
          ? 'add the user to the login group, directly or through a nested group'
          : 'add the user to the login group directly (membership through nested groups counts only with LDAP_NESTED_GROUPS=true)',
        variables: ['LDAP_LOGIN_GROUP', 'LDAP_NESTED_GROUPS'],
      };
    }
    summary.mayLogIn = true;
    const plan = ctx.groupSync.plan(user, loginMemberOf, known);
    const names = (dns: readonly string[]) =>
      dns.length ? dns.map((dn) => known.get(dn)?.name ?? dn).join(', ') : 'none';
    const details = [
      loginGroup
        ? `login group ${loginGroup}: member`
        : 'no login group (LDAP_AUTH_FORMAT_SEARCH_FILTERS / LDAP_LOGIN_GROUP): every user who binds may log in',
      plan
        ? `groups     would join ${names(plan.join.map((g) => g.ldapDn))}; would leave (if in them) ${names(plan.leave)}; in organisation ${plan.organisationId}`
        : 'groups     not changed at login (LDAP_AUTH_SYNC_USER_RELATIONS is not sync_user_groups)',
      `stored as  username "${user.username}", matched by ${stableIdAttribute(user.isActiveDirectory)} ${user.uuid}`,
      notChecked,
    ];
    return {
      status: 'ok',
      summary: `this user may log in (nothing was written)`,
      details,
      data: { mayLogIn: true, plan },
    };
  });
}
