/**
 * Whether the entry found by name is the identity a connection is bound as. A bind name resolves in ways the
 * search does not (AD matches an explicit userPrincipalName first; an entry can be hidden from the search by
 * ACL while a same-named one elsewhere is not), so the entry found by name proves nothing by itself.
 */
import type { Entry } from 'ldapts';
import { type DirectoryUser, firstValue } from '../model/directory-user.js';
import { looksLikeDn, normalizeDn } from '../model/dn.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';
import {
  accountNameMismatch,
  dnMismatch,
  domainMismatch,
  type ForestDomainsRead,
  type Mismatch,
  parseAuthzId,
} from './down-level-name.js';
import { AD_SID_ATTRIBUTE } from './active-directory.js';

/** What the check reads on the bound connection (identity-reads.ts builds it from an ldapts client). */
export interface BoundConnection {
  activeDirectory: boolean;
  /** The server answers RFC 4532 "Who am I?". */
  whoAmISupported: boolean;
  /** The SIDs in the bound identity's token (AD's root DSE tokenGroups); undefined when they cannot be read. */
  tokenSids(): Promise<Buffer[] | undefined>;
  /** The "Who am I?" authzId (`dn:…`, `u:…`, or empty). */
  whoAmI(): Promise<string>;
  /** The AD forest's domains, kept once read; `fresh` reads them again (a domain added since). */
  forestDomains(fresh: boolean): Promise<ForestDomainsRead>;
}

/**
 * Refuses an entry that is not the identity the connection is bound as:
 * - a DN bind is bound as exactly that DN;
 * - on AD the bound user's token (the root DSE's tokenGroups) holds the entry's objectSid;
 * - otherwise RFC 4532 "Who am I?" names the identity: `dn:…`, or on AD `u:DOMAIN\name`, which must be the
 *   entry's sAMAccountName in the domain that holds the entry. What cannot be checked is refused.
 */
export async function verifyBoundIdentity(
  connection: BoundConnection,
  bindName: string,
  user: DirectoryUser,
): Promise<void> {
  if (looksLikeDn(bindName)) {
    if (normalizeDn(bindName) === normalizeDn(user.dn)) return;
    throw new InvalidCredentialsError(`bound as ${bindName}, but the entry found is ${user.dn}`, 'identity_mismatch');
  }
  if (connection.activeDirectory) {
    const sid = binaryValue(user.attributes, AD_SID_ATTRIBUTE);
    const token = await connection.tokenSids();
    if (sid && token?.some((s) => s.equals(sid))) return;
    if (token?.length && !connection.whoAmISupported) {
      throw new InvalidCredentialsError(
        `bound as ${JSON.stringify(bindName)}, whose security token does not hold the objectSid of ${user.dn}`,
        'identity_mismatch',
      );
    }
  }
  if (!connection.whoAmISupported) {
    throw new InvalidCredentialsError(
      `bound as ${JSON.stringify(bindName)}, but the server cannot tell who that is (no tokenGroups, no "Who am I?") to compare with ${user.dn}`,
      'identity_mismatch',
    );
  }
  const authzId = await connection.whoAmI();
  const mismatch = await whoAmIMismatch(connection, authzId, user);
  if (mismatch) {
    throw new InvalidCredentialsError(
      `bound as ${JSON.stringify(authzId)}, which is not the entry ${user.dn}: ${mismatch.why}`,
      'identity_mismatch',
    );
  }
}

async function whoAmIMismatch(
  connection: BoundConnection,
  authzId: string,
  user: DirectoryUser,
): Promise<Mismatch | undefined> {
  const authz = parseAuthzId(authzId);
  switch (authz.kind) {
    case 'dn':
      return dnMismatch(authz.dn, user.dn);
    case 'anonymous':
      return { why: 'the server says the connection is anonymous' };
    case 'other':
      return { why: 'the answer is neither "dn:" nor "u:"' };
  }
  // Only AD's domains can place a bare `u:` name; elsewhere it names no entry we could compare.
  if (!connection.activeDirectory) return { why: 'a "u:" name can only be placed in an Active Directory domain' };
  const nameMismatch = accountNameMismatch(authz, firstValue(user.attributes, 'sAMAccountName'));
  if (nameMismatch || authz.domain === undefined) return nameMismatch;
  let mismatch: Mismatch | undefined;
  for (const fresh of [false, true]) {
    const read = await connection.forestDomains(fresh);
    if ('unreadable' in read) return { why: `the forest's domains cannot be read (${read.unreadable})` };
    mismatch = domainMismatch(authz.domain, user.dn, read.domains);
    if (!mismatch?.unplaced) return mismatch;
  }
  return mismatch;
}

function binaryValue(entry: Entry, attribute: string): Buffer | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key ? entry[key] : undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : undefined;
}
