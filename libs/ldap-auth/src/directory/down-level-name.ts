/**
 * Pure reading and comparison of what RFC 4532 "Who am I?" answers. AD answers `u:DOMAIN\name`: a NetBIOS
 * domain and a sAMAccountName, which is one account only together (CHILD\alice and EXAMPLE\alice are two
 * people), so the entry's domain has to be known too: the forest's domain that holds the entry's DN.
 */
import { normalizeDn, tryNormalizeDn } from '../model/dn.js';
import { isWithin } from './server-info.js';

/** Who the server says the connection is bound as. */
export type AuthzId =
  | { kind: 'dn'; dn: string | undefined }
  | { kind: 'user'; domain: string | undefined; name: string }
  | { kind: 'anonymous' }
  | { kind: 'other' };

/** A domain of the AD forest: its naming context (a normalised DN) and its down-level (NetBIOS) name. */
export interface ForestDomain {
  namingContext: string;
  netbiosName: string;
}

/** The forest's domains as read, or why they could not be. */
export type ForestDomainsRead = { domains: readonly ForestDomain[] } | { unreadable: string };

/** Why a name is not the entry's; `unplaced` when the entry is under none of the domains given. */
export type Mismatch = { why: string; unplaced?: boolean };

/** Reads an authzId: `dn:<dn>`, `u:<name>` (AD: `u:DOMAIN\name`), or empty for anonymous. */
export function parseAuthzId(value: string): AuthzId {
  if (value === '') return { kind: 'anonymous' };
  const prefix = value.slice(0, value.indexOf(':') + 1).toLowerCase();
  if (prefix === 'dn:') return { kind: 'dn', dn: tryNormalizeDn(value.slice(3)) };
  if (prefix !== 'u:') return { kind: 'other' };
  const name = value.slice(2);
  const slash = name.lastIndexOf('\\');
  return slash < 0
    ? { kind: 'user', domain: undefined, name }
    : { kind: 'user', domain: name.slice(0, slash), name: name.slice(slash + 1) };
}

/** The domain whose naming context holds `dn`: the closest one, as a child domain's DN is under its parent's. */
export function domainHolding(dn: string, domains: readonly ForestDomain[]): ForestDomain | undefined {
  const normalized = tryNormalizeDn(dn);
  if (normalized === undefined) return undefined;
  return domains
    .filter((domain) => isWithin(normalized, domain.namingContext))
    .sort((a, b) => b.namingContext.length - a.namingContext.length)[0];
}

/**
 * `DOMAIN\name` against the entry's sAMAccountName, before any domain is read. Case is ignored as AD ignores
 * it; nothing wider (NFKC) is folded, which could equate two accounts AD keeps apart.
 */
export function accountNameMismatch(
  authz: { domain: string | undefined; name: string },
  account: string | null,
): Mismatch | undefined {
  if (authz.domain === undefined) return { why: 'the server names no domain, so the account cannot be placed' };
  if (account === null) return { why: 'the entry has no sAMAccountName to compare' };
  if (!sameIgnoringCase(authz.name, account)) {
    return { why: `the server names account "${authz.name}", the entry's sAMAccountName is "${account}"` };
  }
  return undefined;
}

/** The NetBIOS domain the server named against the domain that holds the entry. */
export function domainMismatch(
  domain: string,
  entryDn: string,
  domains: readonly ForestDomain[],
): Mismatch | undefined {
  const holder = domainHolding(entryDn, domains);
  if (holder === undefined) {
    const names = domains.map((d) => d.netbiosName).join(', ');
    return { why: `the entry is under none of the forest's domains (${names})`, unplaced: true };
  }
  if (!sameIgnoringCase(holder.netbiosName, domain)) {
    return { why: `the entry is in domain ${holder.netbiosName}, not ${domain}` };
  }
  return undefined;
}

/** A "dn:" answer against the entry's DN. */
export function dnMismatch(dn: string | undefined, entryDn: string): Mismatch | undefined {
  return dn !== undefined && dn === normalizeDn(entryDn) ? undefined : { why: 'the server names another DN' };
}

function sameIgnoringCase(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
