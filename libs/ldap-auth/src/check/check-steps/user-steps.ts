import { ldapUrlParts } from '../../directory/check-network.js';
import { stableIdAttribute } from '../../directory/active-directory.js';
import type { DirectoryUser } from '../../model/directory-user.js';
import type { DirectorySession } from '../../directory/ldap-directory.js';
import { checkLoginInput } from '../../login/login-input.js';
import { bindAndFindUser, type LoginNames, loginNames, type LookupStage } from '../../login/user-lookup.js';
import {
  DirectoryError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  LdapAuthError,
} from '../../errors/ldap-auth.errors.js';
import type { CheckRun, StepOutcome, UserCheckSummary } from '../check-report.js';
import { type CheckContext, NO_USABLE_URL, reasonOf } from './check-context.js';
import { listedGroups } from './group-steps.js';
import { checkUserDecision, type UserFound } from './user-decision-steps.js';

/**
 * Step 7 (`user.name`, `user.search`, `user.bind`, `user.entry`, then `user.groups` and `user.login`): one
 * user's login through the library's own login path (the same input rules, names and lookup), writing nothing.
 * Without a password (the admin page's "test a user"), the service account finds the entry and reads its
 * groups instead, and the bind is skipped: everything but the password is decided the same way.
 */
export async function checkUser(
  ctx: CheckContext,
  run: CheckRun,
  serverUsable: boolean,
  request: { name: string; password?: string },
): Promise<UserCheckSummary> {
  const withPassword = request.password !== undefined;
  const { server, loginMode, userFields } = ctx.options;
  const summary: UserCheckSummary = { name: request.name };
  const usesTls = server.starttls || server.urls.some((u) => ldapUrlParts(u).secure);
  const blockedBy = !serverUsable
    ? `${NO_USABLE_URL}: the password is not sent`
    : withPassword && usesTls && server.tlsOptions.rejectUnauthorized === false
      ? 'LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false: the library’s connections do not verify certificates, so this check does not send the password; set it to true (with LDAP_AUTH_TLS_CA_FILE) to test a login'
      : undefined;

  let names: LoginNames | undefined;
  let bindName = '';
  await run.step('user.name', `user "${request.name}"`, { blockedBy }, () => {
    const input = checkLoginInput(request.name, request.password);
    if ('refused' in input) {
      const { reason, emptyPassword } = input.refused;
      return {
        status: 'fail',
        summary: `refused before any bind: ${reason}${emptyPassword ? ' (never sent: servers treat it as an anonymous bind)' : ''}`,
      };
    }
    try {
      names = loginNames(ctx.formatter, loginMode, input.name);
    } catch (error) {
      return {
        status: 'fail',
        summary: `refused before any bind: ${reasonOf(error)}`,
        hint: 'check the name typed against LDAP_AUTH_FORMAT_USERNAME and LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN',
        variables: ['LDAP_AUTH_FORMAT_USERNAME', 'LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN'],
      };
    }
    const { lookupName } = names;
    if (names.mode === 'bind') bindName = names.bindName;
    summary.bindName = names.mode === 'bind' ? bindName : undefined;
    return {
      status: 'ok',
      summary: !withPassword
        ? `searched as ${userFields.username}=${lookupName} with the service account (no password given: no bind)`
        : names.mode === 'bind'
          ? `binds as ${bindName} (looked up as ${userFields.username}=${lookupName})`
          : `searched as ${userFields.username}=${lookupName} with the service account, then bound as the entry's DN (LDAP_AUTH_LOGIN_MODE=search)`,
    };
  });

  const groupDns = listedGroups(ctx).map((g) => g.normalized);
  const progress: { stage: LookupStage | 'name' | 'groups'; user?: DirectoryUser } = { stage: 'name' };
  let found: UserFound | undefined;
  let failure: unknown;
  if (run.passed('user.name') && names) {
    const readGroups = async (session: DirectorySession, user: DirectoryUser): Promise<UserFound> => {
      progress.stage = 'groups';
      progress.user = user;
      const known = await session.readGroups(groupDns);
      const { groups, direct } = await session.membershipDetail(user, groupDns, known);
      return { user, known, memberOf: groups, direct };
    };
    const onStage = (stage: LookupStage, user?: DirectoryUser) => {
      progress.stage = stage;
      if (user) bindName = summary.bindName = user.dn;
    };
    try {
      found =
        request.password === undefined
          ? await findAsServiceAccount(ctx, names.lookupName, readGroups, onStage)
          : await bindAndFindUser(ctx.directory, names, request.password, readGroups, { onStage });
    } catch (error) {
      failure = error;
    }
  }
  const failedAt = failure ? progress.stage : undefined;
  const failed = (what: string): StepOutcome => userFailure(what, failure);

  const searches = loginMode === 'search' || !withPassword;
  if (searches) {
    await run.step('user.search', 'user entry search (service account)', { needs: ['user.name'] }, () =>
      failedAt === 'search'
        ? failed('the service account did not find exactly one entry')
        : { status: 'ok', summary: `found ${bindName}` },
    );
  }
  const noBind = withPassword
    ? undefined
    : 'no password given: the bind (and what only it tells: a wrong password, a locked or disabled AD account) is not tried';
  await run.step(
    'user.bind',
    'user bind',
    { blockedBy: noBind, needs: [searches ? 'user.search' : 'user.name'] },
    () =>
      failedAt === 'bind'
        ? failed(`the bind as ${bindName} ${failure instanceof InvalidCredentialsError ? 'was refused' : 'failed'}`)
        : { status: 'ok', summary: `bound as ${bindName}` },
  );
  await run.step('user.entry', 'user entry', { needs: [withPassword ? 'user.bind' : 'user.search'] }, () => {
    if (failedAt === 'entry') return failed('the bind worked, but the login cannot use the entry');
    const user = progress.user!;
    const { dn, username, email, firstName, lastName, uuid } = user;
    const fields = { dn, username, email, firstName, lastName, uuid };
    Object.assign(summary, fields);
    const field = (label: string, value: string | null, attribute?: string) =>
      `${label.padEnd(11)}${value ?? '(none)'}${attribute ? ` (${attribute})` : ''}`;
    return {
      status: 'ok',
      summary: user.dn,
      details: [
        field('username', user.username, userFields.username),
        field('email', user.email, userFields.email),
        field('first name', user.firstName, userFields.firstName),
        field('last name', user.lastName, userFields.lastName),
        field('stable id', user.uuid, stableIdAttribute(user.isActiveDirectory)),
        !withPassword
          ? 'identity   found by the service account (no bind: not checked against a bound identity)'
          : loginMode === 'bind'
            ? 'identity   the entry is the identity that bound (checked as at login)'
            : 'identity   bound as the DN the service account found',
      ],
      data: { ...fields },
    };
  });
  await checkUserDecision(
    ctx,
    run,
    summary,
    found,
    failedAt === 'groups' ? failed('reading the groups failed') : undefined,
  );
  return summary;
}

/** The entry by the service account (search mode's first stage, in either login mode), then `then` on that session. */
async function findAsServiceAccount(
  ctx: CheckContext,
  lookupName: string,
  then: (session: DirectorySession, user: DirectoryUser) => Promise<UserFound>,
  onStage: (stage: LookupStage, user?: DirectoryUser) => void,
): Promise<UserFound> {
  onStage('search');
  return ctx.directory.withServiceSession(async (session) => {
    const user = await session.findUser(lookupName);
    onStage('entry', user);
    return then(session, user);
  });
}

/** A failed stage of the user's login: the library's error, with what to look at. */
function userFailure(what: string, error: unknown): StepOutcome {
  if (error instanceof InvalidCredentialsError) {
    return {
      status: 'fail',
      summary: `${what}: ${error.reason}`,
      hint: /wrong username or password|wrong password|user not found/.test(error.reason)
        ? 'check the password typed and the bind name (LDAP_AUTH_FORMAT_USERNAME, LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN, LDAP_AUTH_SEARCH_BASE)'
        : /no entry matches|more than one entry/.test(error.reason)
          ? 'check LDAP_AUTH_SEARCH_BASE, LDAP_AUTH_OBJECT_CLASS and the username attribute in LDAP_AUTH_USER_FIELDS'
          : 'see the reason above: the login is refused the same way',
      variables: /no entry matches|more than one entry/.test(error.reason)
        ? ['LDAP_AUTH_SEARCH_BASE', 'LDAP_AUTH_OBJECT_CLASS', 'LDAP_AUTH_USER_FIELDS']
        : [],
    };
  }
  if (error instanceof DirectoryUnavailableError) {
    return {
      status: 'fail',
      summary: `${what}: ${error.message}`,
      hint: 'see the connection steps above',
      variables: ['LDAP_AUTH_URL'],
    };
  }
  if (error instanceof DirectoryError || error instanceof LdapAuthError) {
    return { status: 'fail', summary: `${what}: ${error.message}` };
  }
  return { status: 'fail', summary: `${what}: ${reasonOf(error)}` };
}
