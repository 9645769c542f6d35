import { type Client, NoSuchObjectError } from 'ldapts';
import { allValues } from '../model/directory-user.js';
import { tryNormalizeDn } from '../model/dn.js';
import { describeLdapResultCode } from '../model/ldap-result-codes.js';
import { isWithin } from './server-info.js';

/**
 * A search base outside the directory's data (a typo, the example default) makes every login a "wrong
 * username or password" and every sync find nobody. Checked once the directory answers, and only warned about:
 * the check must never stop an app.
 */

/** What the server said about the search base: its naming contexts as it writes them, and whether it exists. */
export interface SearchBaseFacts {
  searchBase: string;
  url: string;
  /** As the root DSE lists them; empty when it lists none (or would not show them). */
  namingContexts: readonly string[];
  /** False when a base search answered noSuchObject; undefined when not asked (or not answered). */
  exists?: boolean;
}

/** The warning about the search base, naming LDAP_AUTH_SEARCH_BASE, or undefined when it looks right. */
export function searchBaseWarning(facts: SearchBaseFacts): string | undefined {
  const { searchBase, url, namingContexts } = facts;
  const base = tryNormalizeDn(searchBase);
  const contexts = namingContexts.length ? namingContexts.join('; ') : 'none listed';
  const within = base !== undefined && namingContexts.some((nc) => isWithin(base, tryNormalizeDn(nc) ?? nc));
  if (namingContexts.length && !within) {
    return `LDAP_AUTH_SEARCH_BASE "${searchBase}" is outside every naming context of ${url} (${contexts}): no user can be found there; set LDAP_AUTH_SEARCH_BASE to the DN that holds the users`;
  }
  if (facts.exists === false) {
    return `LDAP_AUTH_SEARCH_BASE "${searchBase}" does not exist on ${url} (${describeLdapResultCode(32)}; naming contexts: ${contexts}): no user can be found there; set LDAP_AUTH_SEARCH_BASE to the DN that holds the users`;
  }
  return undefined;
}

/**
 * Reads the facts on a connection that answered: the root DSE's naming contexts and, when `bound` as the
 * service account (an anonymous client may be refused what exists), a base search of the search base. Never
 * throws: whatever the server does not answer stays unknown.
 */
export async function readSearchBaseFacts(
  client: Client,
  url: string,
  searchBase: string,
  bound: boolean,
): Promise<SearchBaseFacts> {
  const facts: SearchBaseFacts = { searchBase, url, namingContexts: [] };
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['namingContexts'],
    });
    facts.namingContexts = searchEntries[0] ? (allValues(searchEntries[0], 'namingContexts') ?? []) : [];
  } catch {
    return facts;
  }
  if (!bound) return facts;
  try {
    await client.search(searchBase, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    facts.exists = true;
  } catch (error) {
    if (error instanceof NoSuchObjectError) facts.exists = false;
  }
  return facts;
}
