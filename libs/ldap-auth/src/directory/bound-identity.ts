/**
 * Whether the entry found by name is the identity a connection is bound as. A bind name resolves in ways the
 * search does not (AD matches an explicit userPrincipalName first; an entry can be hidden from the search by
 * ACL while a same-named one elsewhere is not), so the entry found by name proves nothing by itself.
 */
import type { Entry } from 'ldapts';
import { type DirectoryUser, firstValue, foldName } from '../model/directory-user.js';
import { looksLikeDn, normalizeDn, tryNormalizeDn } from '../model/ldap-escape.js';
import { InvalidCredentialsError } from '../errors/ldap-auth.errors.js';

/** AD's security identifier attribute (binary). */
const AD_SID_ATTRIBUTE = 'objectSid';

/** What the check reads on the bound connection (identity-reads.ts builds it from an ldapts client). */
export interface BoundConnection {
  activeDirectory: boolean;
  /** The server answers RFC 4532 "Who am I?". */
  whoAmISupported: boolean;
  /** The configured LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN. */
  activeDirectoryDomain?: string;
  /** The SIDs in the bound identity's token (AD's root DSE tokenGroups); undefined when they cannot be read. */
  tokenSids(): Promise<Buffer[] | undefined>;
  /** The "Who am I?" authzId (`dn:…`, `u:…`, or empty). */
  whoAmI(): Promise<string>;
}

/**
 * Refuses an entry that is not the identity the connection is bound as:
 * - a DN bind is bound as exactly that DN;
 * - on AD the bound user's token (the root DSE's tokenGroups) holds the entry's objectSid;
 * - otherwise RFC 4532 "Who am I?" names the identity (`dn:…`, or `u:DOMAIN\name` on AD).
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
  if (connection.whoAmISupported) {
    const authzId = await connection.whoAmI();
    if (authzId.toLowerCase().startsWith('dn:')) {
      if (tryNormalizeDn(authzId.slice(3)) === normalizeDn(user.dn)) return;
    } else if (
      authzId.toLowerCase().startsWith('u:') &&
      sameDownLevelName(authzId.slice(2), user, connection.activeDirectoryDomain)
    ) {
      return;
    }
    throw new InvalidCredentialsError(
      `bound as ${JSON.stringify(authzId)}, which is not the entry ${user.dn}`,
      'identity_mismatch',
    );
  }
  throw new InvalidCredentialsError(
    `bound as ${JSON.stringify(bindName)}, but the server cannot tell who that is (no tokenGroups, no "Who am I?") to compare with ${user.dn}`,
    'identity_mismatch',
  );
}

/** `DOMAIN\name` (or `name`) from "Who am I?" against the entry's sAMAccountName and the configured domain. */
function sameDownLevelName(authzName: string, user: DirectoryUser, configured: string | undefined): boolean {
  const slash = authzName.lastIndexOf('\\');
  const domain = slash >= 0 ? authzName.slice(0, slash) : undefined;
  const name = authzName.slice(slash + 1);
  const account = firstValue(user.attributes, 'sAMAccountName') ?? user.username;
  if (foldName(name) !== foldName(account)) return false;
  // A NetBIOS domain name can be compared; a DNS name cannot be checked against `DOMAIN` exactly.
  if (domain !== undefined && configured && !configured.includes('.')) {
    return foldName(domain) === foldName(configured);
  }
  return true;
}

function binaryValue(entry: Entry, attribute: string): Buffer | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key ? entry[key] : undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : undefined;
}
