import { EqualityFilter, NoSuchObjectError, OrFilter } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import { allValues, firstValue, type Entry } from '../../model/directory-user.js';
import { firstRdnValue } from '../../model/dn.js';
import { IncompleteDirectoryReadError } from '../../errors/ldap-auth.errors.js';
import { BrokenRangeError, rangedValueChunks } from '../active-directory.js';
import { canonicalGid, GID_ATTRIBUTE } from '../posix-groups.js';

/** The attribute of a group entry that lists its members. */
export type MemberAttribute = 'member' | 'uniqueMember' | 'memberUid';

/** A group entry as the sync's read keeps it: its member values, not yet matched to users. */
export interface GroupEntry {
  dn: string;
  name: string;
  members: string[];
  /** A posixGroup's gidNumber, read when primary groups count (see posix-groups.ts). */
  gidNumber?: string;
}

/** Group entries asked for at once on the read's connection. */
const GROUP_READS_IN_FLIGHT = 4;
/**
 * Group classes whose schema requires the member attribute (lower case): an entry of one of these without a
 * value of it is not an empty group, it is a group whose members the sync account may not read.
 */
const CLASS_REQUIRING: Record<MemberAttribute, string | undefined> = {
  member: 'groupofnames',
  uniqueMember: 'groupofuniquenames',
  memberUid: undefined,
};

/** Reads group entries for the sync's snapshot, each with every value of its member attribute. */
export class GroupEntryReader {
  constructor(
    private readonly client: BulkReadConnection,
    private readonly memberAttribute: MemberAttribute,
    /** The read's counters: every entry read counts. */
    private readonly stats: { entriesRead: number },
    /** Read a posixGroup's gidNumber too: its primary-group users are members (see posix-groups.ts). */
    private readonly primaryGroups = false,
  ) {}

  /** The entries of `dns` (undefined: no such entry), a few searches at a time. */
  async readGroupEntries(dns: readonly string[], onlyIfGroup = false): Promise<Map<string, GroupEntry | undefined>> {
    const entries = new Map<string, GroupEntry | undefined>(dns.map((dn) => [dn, undefined]));
    let next = 0;
    const worker = async () => {
      while (next < dns.length) {
        const dn = dns[next++];
        entries.set(dn, await this.readGroupEntry(dn, onlyIfGroup));
      }
    };
    await Promise.all(Array.from({ length: Math.min(GROUP_READS_IN_FLIGHT, dns.length) }, worker));
    return entries;
  }

  /**
   * Reads one group entry with every value of its member attribute, following AD's ranged retrieval
   * (`member;range=0-1499`, then `member;range=1500-*`...). Undefined when there is no such entry or, for
   * a nested member, when the entry is not a group. No entry is also what a group hidden from the sync account
   * looks like: the caller never takes it for a deleted group (see reconcile.ts). Throws when the entry's class
   * requires the member attribute and no value came back (the attribute is hidden, not empty).
   */
  private async readGroupEntry(dn: string, onlyIfGroup = false): Promise<GroupEntry | undefined> {
    const attribute = this.memberAttribute;
    const filter = onlyIfGroup
      ? new OrFilter({
          filters: ['group', 'groupOfNames', 'groupOfUniqueNames', 'posixGroup'].map(
            (value) => new EqualityFilter({ attribute: 'objectClass', value }),
          ),
        })
      : '(objectClass=*)';
    let entry: Entry | undefined;
    try {
      const result = await this.client.search(dn, {
        scope: 'base',
        filter,
        attributes: ['cn', 'objectClass', attribute, ...(this.primaryGroups && !onlyIfGroup ? [GID_ATTRIBUTE] : [])],
      });
      refuseReferrals(result.searchReferences, dn);
      entry = result.searchEntries[0];
    } catch (error) {
      if (error instanceof NoSuchObjectError) return undefined;
      throw error;
    }
    if (!entry) return undefined;
    this.stats.entriesRead++;
    const members = await this.memberValues(dn, entry);
    if (members.length === 0) this.refuseUnreadableMembers(dn, entry);
    // A primary group counts for a listed group only, not for a nested one (read with onlyIfGroup).
    const gidNumber = onlyIfGroup ? undefined : this.gidOf(dn, entry);
    return { dn, name: firstValue(entry, 'cn') ?? firstRdnValue(entry.dn), members, gidNumber };
  }

  /**
   * A posixGroup's gidNumber when primary groups count. The schema requires it: one that did not come back is
   * hidden from the sync account, and taking the group for one without primary members would empty it.
   */
  private gidOf(dn: string, entry: Entry): string | undefined {
    if (!this.primaryGroups) return undefined;
    if (!allValues(entry, 'objectClass')?.some((c) => c.toLowerCase() === 'posixgroup')) return undefined;
    const gid = canonicalGid(firstValue(entry, GID_ATTRIBUTE));
    if (gid === undefined) {
      throw new IncompleteDirectoryReadError(
        `the posixGroup ${dn} came back without an integer ${GID_ATTRIBUTE}, which its class requires: the sync account may not read it`,
      );
    }
    return gid;
  }

  /** Every value of the member attribute on a group's entry, AD's ranged retrieval followed. */
  private async memberValues(dn: string, entry: Entry): Promise<string[]> {
    const attribute = this.memberAttribute;
    const readFrom = async (from: number) => {
      const { searchEntries, searchReferences } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [`${attribute};range=${from}-*`],
      });
      refuseReferrals(searchReferences, dn);
      return searchEntries[0];
    };
    let members: string[] | undefined;
    try {
      for await (const values of rangedValueChunks(entry, attribute, readFrom)) {
        // The first chunk is taken as it is: a plain attribute of a few hundred thousand values must not be
        // spread into push() (it would overflow the call stack); ranged chunks are 1,500 values at most.
        if (!members) members = values;
        else members.push(...values);
      }
    } catch (error) {
      if (!(error instanceof BrokenRangeError)) throw error;
      throw new IncompleteDirectoryReadError(
        `ranged retrieval of ${attribute} on ${dn} did not continue at ${error.from}: the membership would be incomplete`,
      );
    }
    return members ?? [];
  }

  /**
   * A group entry that came back without members is empty only if the sync account could have seen them: not
   * when its class requires the member attribute, nor when even its objectClass was withheld.
   */
  private refuseUnreadableMembers(dn: string, entry: Entry): void {
    const attribute = this.memberAttribute;
    const classes = allValues(entry, 'objectClass');
    const requiring = CLASS_REQUIRING[attribute];
    if (!classes) {
      throw new IncompleteDirectoryReadError(
        `the group ${dn} came back without members and without its objectClass: the sync account may not read it`,
      );
    }
    if (requiring && classes.some((c) => c.toLowerCase() === requiring)) {
      throw new IncompleteDirectoryReadError(
        `the group ${dn} came back without any ${attribute} value, which its class requires: the sync account may not read its ${attribute} attribute`,
      );
    }
  }
}

/** A read that met a referral is incomplete: referrals are not followed. */
export function refuseReferrals(references: readonly string[], base: string): void {
  if (references.length) {
    throw new IncompleteDirectoryReadError(
      `the server referred part of ${base} elsewhere (${references.slice(0, 3).join(', ')}): referrals are not followed, so the read would be incomplete`,
    );
  }
}
