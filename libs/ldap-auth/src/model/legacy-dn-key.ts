import { canonicalDn } from './dn.js';

/**
 * The canonical DN of earlier builds, which folded values with NFKC and Unicode lower-casing. Used only
 * to find group rows stored under that key (`groups.ldap_dn`) and give them today's key: never to compare a
 * user's groups, where such folding let `cn=ᴬdmins` pass for `cn=admins`.
 */
export function legacyGroupKey(dn: string): string {
  return canonicalDn(dn, legacyFold);
}

function legacyFold(value: string): string {
  let folded = '';
  for (const c of value.normalize('NFKC')) {
    const lower = c.toLowerCase();
    folded += Array.from(lower).length === 1 ? lower : c;
  }
  return folded.normalize('NFKC');
}
