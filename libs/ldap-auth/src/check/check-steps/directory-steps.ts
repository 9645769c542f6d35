import { ldapUrlParts } from '../../directory/check-network.js';
import type { CheckConnection, RootDseDetails } from '../../directory/check-connection.js';
import { isWithin } from '../../directory/server-info.js';
import { looksLikeDn, tryNormalizeDn } from '../../model/dn.js';
import type { CheckReport, CheckRun, StepOutcome } from '../check-report.js';
import { type CheckContext, NO_USABLE_URL, reasonOf } from './check-context.js';

/** Page size of the user count: AD's cap, as the full sync reads. */
const COUNT_PAGE_SIZE = 1000;

/**
 * Steps 2 to 5 (`rootDse`, `serviceBind`, `searchBase`, `users`), on the connection of the first URL that passed
 * (blocked without one). Returns the server they ran on, for the report.
 */
export async function checkDirectory(
  ctx: CheckContext,
  run: CheckRun,
  connection: CheckConnection | undefined,
  maxCountedEntries: number,
): Promise<CheckReport['server']> {
  const { server, objectClass } = ctx.options;
  const blockedBy = connection ? undefined : NO_USABLE_URL;
  let rootDse: RootDseDetails | undefined;

  await run.step('rootDse', 'root DSE', { blockedBy }, async () => {
    try {
      rootDse = await connection!.readRootDse();
    } catch (error) {
      return {
        status: 'fail',
        summary: `the server did not answer an LDAP read: ${reasonOf(error)}`,
        hint: ldapUrlParts(connection!.url).secure
          ? 'is this an LDAPS port? check LDAP_AUTH_URL'
          : 'is this an LDAP port? An LDAPS port (636) needs ldaps:// in LDAP_AUTH_URL; LDAP_AUTH_RECEIVE_TIMEOUT sets the wait',
        variables: ['LDAP_AUTH_URL'],
      };
    }
    return rootDseOutcome(ctx, connection!.url, rootDse);
  });

  await run.step('serviceBind', 'service account', { blockedBy, needs: ['rootDse'] }, async () =>
    serviceBind(ctx, connection!),
  );

  await run.step('searchBase', 'search base', { blockedBy, needs: ['serviceBind'] }, async () =>
    (await connection!.entryExists(server.searchBase))
      ? { status: 'ok', summary: `${server.searchBase} exists` }
      : {
          status: 'fail',
          summary: `${server.searchBase} does not exist (code 32, no such object)`,
          hint: `set LDAP_AUTH_SEARCH_BASE to the DN of the entry that holds the users${rootDse?.namingContexts.length ? `, under one of the naming contexts (${rootDse.namingContexts.join('; ')})` : ''}`,
          variables: ['LDAP_AUTH_SEARCH_BASE'],
        },
  );

  await run.step('users', 'users', { blockedBy, needs: ['searchBase'] }, async () => {
    const cap = maxCountedEntries;
    const counted = await connection!.countUsers(server.searchBase, objectClass, { pageSize: COUNT_PAGE_SIZE, cap });
    const where = `${counted.filter} under ${server.searchBase}`;
    const pages = `${counted.pages} page${counted.pages === 1 ? '' : 's'} of up to ${COUNT_PAGE_SIZE.toLocaleString('en-US')}`;
    const data = { ...counted };
    if (counted.stoppedBy === 'sizeLimit') {
      return {
        status: 'fail',
        summary: `the server stopped the paged read after ${counted.count} entries: size limit exceeded (code 4)`,
        hint: `the full sync reads every entry and would abort: lift the limit for the service account (slapd: limits dn.exact="<its DN>" size.prtotal=unlimited)`,
        variables: ['LDAP_SYNC_USER_USERNAME'],
        data,
      };
    }
    if (counted.referrals) {
      return {
        status: 'fail',
        summary: `${counted.count} entries match ${where}, and the server referred ${counted.referrals} part(s) elsewhere`,
        hint: 'referrals are not followed (the full sync aborts on them): narrow LDAP_AUTH_SEARCH_BASE to one partition',
        variables: ['LDAP_AUTH_SEARCH_BASE'],
        data,
      };
    }
    if (counted.stoppedBy === 'cap') {
      return {
        status: 'ok',
        summary: `at least ${counted.count} entries match ${where} (counting stopped there)`,
        data,
      };
    }
    if (counted.count === 0) {
      const ad = rootDse?.server.activeDirectory;
      return {
        status: 'fail',
        summary: `no entry matches ${where}`,
        hint:
          ad && objectClass.toLowerCase() !== 'user'
            ? 'on Active Directory set LDAP_AUTH_OBJECT_CLASS=user'
            : 'check LDAP_AUTH_OBJECT_CLASS (the objectClass of user entries) and LDAP_AUTH_SEARCH_BASE',
        variables: ['LDAP_AUTH_OBJECT_CLASS', 'LDAP_AUTH_SEARCH_BASE'],
        data,
      };
    }
    return { status: 'ok', summary: `${counted.count} entries match ${where} (${pages})`, data };
  });

  return connection && rootDse
    ? {
        url: connection.url,
        activeDirectory: rootDse.server.activeDirectory,
        namingContexts: rootDse.namingContexts,
      }
    : undefined;
}

function rootDseOutcome(ctx: CheckContext, url: string, rootDse: RootDseDetails): StepOutcome {
  const { searchBase } = ctx.options.server;
  const ad = rootDse.server.activeDirectory;
  const kind = ad
    ? 'Active Directory (or Samba AD): stable id objectGUID, membership from memberOf'
    : `not Active Directory${rootDse.vendor ? ` (${rootDse.vendor})` : ''}: stable id entryUUID`;
  const details = [
    `server        ${url}${rootDse.dnsHostName ? ` (${rootDse.dnsHostName})` : ''}`,
    `naming ctx    ${rootDse.namingContexts.length ? rootDse.namingContexts.join('; ') : 'none named'}`,
    `"Who am I?"   ${rootDse.server.whoAmI ? 'supported' : 'not supported'}`,
  ];
  const data = { ...rootDse };
  if (!rootDse.readable) {
    return {
      status: 'warn',
      summary: 'the server would not show its root DSE: the library treats it as a server that is not AD',
      details,
      hint: 'allow anonymous reads of the root DSE (every LDAP server allows it by default)',
      data,
    };
  }
  const base = tryNormalizeDn(searchBase);
  const context = base
    ? rootDse.server.namingContexts.filter((nc) => isWithin(base, nc)).sort((a, b) => b.length - a.length)[0]
    : undefined;
  if (context === undefined && rootDse.server.namingContexts.length) {
    return {
      status: 'fail',
      summary: `${kind}; the search base ${searchBase} is in none of its naming contexts`,
      details,
      hint: `LDAP_AUTH_SEARCH_BASE must end with one of: ${rootDse.namingContexts.join('; ')}`,
      variables: ['LDAP_AUTH_SEARCH_BASE'],
      data,
    };
  }
  const spelled = rootDse.namingContexts.find((nc) => tryNormalizeDn(nc) === context) ?? context;
  return {
    status: 'ok',
    summary: `${kind}; the search base is within ${spelled ?? 'a naming context the server does not list'}`,
    details,
    data,
  };
}

/** The service account's bind name as the library forms it: a DN as given, else through the formatter. */
function serviceAccountName(ctx: CheckContext): { bindName: string; configured: string; password: string } | undefined {
  const { server, serviceAccount } = ctx.options;
  if (server.bindDN && server.bindCredentials) {
    return { bindName: server.bindDN, configured: server.bindDN, password: server.bindCredentials };
  }
  if (!serviceAccount?.password) return undefined;
  const name = serviceAccount.username;
  const bindName = looksLikeDn(name) ? name : ctx.formatter.toBindName(ctx.formatter.toLookupName(name));
  return { bindName, configured: name, password: serviceAccount.password };
}

async function serviceBind(ctx: CheckContext, connection: CheckConnection): Promise<StepOutcome> {
  let account: ReturnType<typeof serviceAccountName>;
  try {
    account = serviceAccountName(ctx);
  } catch (error) {
    return {
      status: 'fail',
      summary: `LDAP_SYNC_USER_USERNAME cannot be turned into a bind name: ${reasonOf(error)}`,
      hint: 'give the service account as a DN, or as a name of the configured domain',
      variables: ['LDAP_SYNC_USER_USERNAME', 'LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN'],
    };
  }
  if (!account) {
    return {
      status: 'skip',
      summary:
        'no service account configured (LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD): the full sync and LDAP_AUTH_LOGIN_MODE=search need one',
      variables: ['LDAP_SYNC_USER_USERNAME', 'LDAP_SYNC_USER_PASSWORD'],
    };
  }
  const formatted =
    account.configured === account.bindName
      ? []
      : [`LDAP_SYNC_USER_USERNAME "${account.configured}" → ${account.bindName} (LDAP_AUTH_FORMAT_USERNAME)`];
  const outcome = await connection.bind(account.bindName, account.password);
  if (outcome.ok) {
    return {
      status: 'ok',
      summary: `bound as ${account.bindName}`,
      details: formatted,
      data: { bindName: account.bindName },
    };
  }
  const tlsWanted = outcome.code === 8 || outcome.code === 13;
  return {
    status: 'fail',
    summary: `the server refused the bind as ${account.bindName}: ${outcome.reason}`,
    details: formatted,
    hint: tlsWanted
      ? 'the server requires TLS for binds: use ldaps:// in LDAP_AUTH_URL or LDAP_AUTH_USE_TLS=true'
      : outcome.code === 49
        ? 'check LDAP_SYNC_USER_PASSWORD, and that LDAP_SYNC_USER_USERNAME names the account (a DN is used as it is; a plain name goes through LDAP_AUTH_FORMAT_USERNAME and LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN)'
        : 'check the service account in the directory (locked, disabled, expired?) and LDAP_SYNC_USER_USERNAME / LDAP_SYNC_USER_PASSWORD',
    variables: tlsWanted
      ? ['LDAP_AUTH_URL', 'LDAP_AUTH_USE_TLS']
      : ['LDAP_SYNC_USER_PASSWORD', 'LDAP_SYNC_USER_USERNAME'],
    data: { bindName: account.bindName, resultCode: outcome.code },
  };
}
