import type { DirectoryGroup } from './directory-user.js';
import { tryNormalizeDn } from './dn.js';

/**
 * Which listed group (LDAP_SYNCED_GROUPS, LDAP_LOGIN_GROUP) a DN of the user's groups names. A listed group is
 * known under its configured DN's canonical form and under the canonical form of its entry's DN as the server
 * returned it for a base search on the configured DN: the server, not this code, decides that the two name one
 * entry (a configured `cn=Équipe` whose entry is `cn=équipe`). Nothing else matches: a `cn=ᴬdmins` that some
 * other folding would take for `cn=admins` is another group, so membership fails closed.
 */
export class ListedGroupMatcher {
  private readonly keysByDn = new Map<string, string[]>();

  /**
   * @param keys the listed groups' canonical DNs (`normalizeDn` of the configured values)
   * @param known the listed groups read from the directory, by key, with their DN as the server wrote it
   */
  constructor(keys: Iterable<string>, known?: ReadonlyMap<string, DirectoryGroup>) {
    for (const key of keys) {
      this.add(key, key);
      const spelled = known?.get(key)?.dn;
      const served = spelled === undefined ? undefined : tryNormalizeDn(spelled);
      if (served !== undefined && served !== key) this.add(served, key);
    }
  }

  /** The keys of the listed groups that `dn` (canonical) is; empty for any other group. */
  keysOf(dn: string): readonly string[] {
    return this.keysByDn.get(dn) ?? [];
  }

  /** The keys of the listed groups among `dns` (canonical DNs). */
  match(dns: Iterable<string>): Set<string> {
    const found = new Set<string>();
    for (const dn of dns) for (const key of this.keysOf(dn)) found.add(key);
    return found;
  }

  private add(dn: string, key: string): void {
    const keys = this.keysByDn.get(dn);
    if (!keys) this.keysByDn.set(dn, [key]);
    else if (!keys.includes(key)) keys.push(key);
  }
}
