import { AndFilter, type Filter } from 'ldapts';
import type { BulkReadConnection, BulkSearchOptions } from './bulk-read-connection.js';
import { SnapshotReader, type SnapshotReadOptions, SYNC_PAGE_SIZE, userAttributes } from './snapshot-reader.js';
import { refuseReferrals } from './group-entries.js';
import { GROUP_FILTER, groupBases } from './delta-common.js';
import type { ServerInfo } from '../server-info.js';
import { isWithin } from '../server-info.js';
import {
  isAccountDisabled,
  objectGuidText,
  searchControls,
  stableIdAttribute,
  userEntriesFilter,
} from '../active-directory.js';
import { AD_UUID_ATTRIBUTE } from '../../ldap-auth.constants.js';
import type { Entry } from '../../model/directory-user.js';
import type { SnapshotUser } from '../../model/directory-snapshot.js';
import { tryNormalizeDn } from '../../model/dn.js';
import { IncompleteDirectoryReadError } from '../../errors/ldap-auth.errors.js';

/**
 * The reads shared by the two ways that keep a watermark instead of a server-side cookie (AD's uSNChanged,
 * other servers' modifyTimestamp): the user entries changed since it, a scan of the stable ids of every user
 * entry (the presence signal: an entry deleted, or moved out of the search base, is simply not there; a
 * search for changes under the base cannot see either), and a scan of the group entries.
 */

/** The user entries matching `changedSince` (every user entry without it), complete, with `extra` attributes. */
export async function readChangedUsers(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  changedSince: Filter | undefined,
  extra: readonly string[],
): Promise<{ users: SnapshotUser[]; entries: Entry[] }> {
  const reader = new SnapshotReader(client, server, options);
  const base = userEntriesFilter(options.objectClass, server);
  const filter = changedSince ? new AndFilter({ filters: [base, changedSince] }) : base;
  const entries: Entry[] = [];
  const search = { filter, attributes: [...userAttributes(options, server), ...extra] };
  for await (const page of pages(client, server, options.searchBase, search)) entries.push(...page);
  return { users: entries.map((entry) => reader.userOf(entry)), entries };
}

/** Every user entry under the search base, by stable id only (and, on AD, whether it is disabled). */
export async function scanPresentUsers(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
): Promise<{ present: Set<string>; disabled: Set<string>; entriesRead: number }> {
  const present = new Set<string>();
  const disabled = new Set<string>();
  const attributes = [stableIdAttribute(server.activeDirectory)];
  // On AD a disabled account is still there: the rows cannot tell a disabled entry from one gone.
  if (server.activeDirectory) attributes.push('userAccountControl');
  const search = { filter: userEntriesFilter(options.objectClass, server), attributes };
  let entriesRead = 0;
  for await (const page of pages(client, server, options.searchBase, search)) {
    for (const entry of page) {
      const uuid = uuidOf(entry, server);
      present.add(uuid);
      if (server.activeDirectory && isAccountDisabled(firstValue(entry, 'useraccountcontrol'))) disabled.add(uuid);
    }
    entriesRead += page.length;
  }
  return { present, disabled, entriesRead };
}

/**
 * Every group entry under the group bases (stable id, DN, `extra`): those `isChanged` says changed, renamed
 * (old and new DN) or gone since `known` (uuid → DN, from the cursor) are changed. `filter`: what a group
 * entry may be (by default any entry with member values: nested groups may be of any class).
 */
export async function scanGroups(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  known: Record<string, string> | undefined,
  extra: readonly string[],
  isChanged: (entry: Entry) => boolean,
  filter: string = GROUP_FILTER,
): Promise<{ changed: Set<string>; groupDns: Record<string, string>; entries: Entry[] }> {
  const changed = new Set<string>();
  const groupDns: Record<string, string> = {};
  const entries: Entry[] = [];
  const attributes = [stableIdAttribute(server.activeDirectory), ...extra];
  for (const base of groupBases(options, server)) {
    for await (const page of pages(client, server, base, { filter, attributes })) {
      for (const entry of page) {
        const uuid = uuidOf(entry, server);
        const dn = tryNormalizeDn(entry.dn) ?? entry.dn;
        groupDns[uuid] = dn;
        entries.push(entry);
        // A renamed or moved group: what listed it under its old DN changed too.
        if (known?.[uuid] !== undefined && known[uuid] !== dn) changed.add(known[uuid]).add(dn);
        if (!known || isChanged(entry)) changed.add(dn);
      }
    }
    for (const [uuid, dn] of Object.entries(known ?? {})) {
      if (isWithin(dn, base) && groupDns[uuid] === undefined) changed.add(dn);
    }
  }
  return { changed, groupDns, entries };
}

/** The first value of `key` (lower case, as the connection names attributes) as text. */
export function firstValue(entry: Entry, key: string): string | undefined {
  const value = entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

function uuidOf(entry: Entry, server: ServerInfo): string {
  const uuid = server.activeDirectory
    ? objectGuidText(entry[AD_UUID_ATTRIBUTE.toLowerCase()])
    : firstValue(entry, stableIdAttribute(false).toLowerCase())?.toLowerCase();
  // Skipping an entry without one would make its row look deleted.
  if (!uuid) throw new IncompleteDirectoryReadError(`the entry ${entry.dn} has no stable id`);
  return uuid;
}

/** A paged subtree search's entries, page by page; a referral makes the read incomplete. */
async function* pages(
  client: BulkReadConnection,
  server: ServerInfo,
  base: string,
  search: Pick<BulkSearchOptions, 'filter' | 'attributes'>,
): AsyncGenerator<Entry[]> {
  const options: BulkSearchOptions = {
    scope: 'sub',
    ...search,
    binaryAttributes: [AD_UUID_ATTRIBUTE],
    controls: searchControls(server),
  };
  for await (const page of client.searchPages(base, options, SYNC_PAGE_SIZE)) {
    refuseReferrals(page.searchReferences, base);
    yield page.searchEntries;
  }
}
