import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import type { LdapDirectory } from '../directory/ldap-directory.js';
import type { DeltaRead } from '../directory/sync-reader/delta-reader.js';
import type { LdapSyncStore } from '../persistence/sync/ldap-sync.store.js';
import type { ScopedRows } from '../persistence/sync/read-delta-state.js';
import type { DirectorySnapshot } from '../model/directory-snapshot.js';
import { composeDeltaSnapshot, type DeltaScope, nothingChanged, planDeltaRead } from './delta-snapshot.js';
import {
  memberDiff,
  memberKeys,
  resolveScopedGroups,
  scopedState,
  scopeQuery,
  someValueUnmatched,
} from './delta-scope.js';
import type { RunRead } from './run-read.js';

export interface ScopedDeltaDeps {
  directory: LdapDirectory;
  store: LdapSyncStore;
  options: ResolvedLdapAuthOptions;
}

export interface ScopedDeltaInput {
  read: DeltaRead;
  scope: DeltaScope;
  counts: Pick<RunRead, 'usersSeen' | 'entriesRead' | 'pages'>;
  /** The whole read, when the rows say a delta cannot stand for it (planDeltaRead's fullRead). */
  whole: (reason: string) => Promise<RunRead>;
}

/**
 * A delta that reads and plans only the rows its changes concern (sync/delta-scope.ts). Undefined when the
 * scope cannot be told from the rows asked for: the caller then reads the whole state.
 */
export async function readScopedDelta(
  { directory, store, options }: ScopedDeltaDeps,
  { read, scope, counts, whole }: ScopedDeltaInput,
): Promise<RunRead | undefined> {
  const organisation = options.defaultOrganisationId;
  // The listed groups that changed are read again whatever the rows say: asked for now, while the database is.
  const listed = new Set(scope.listedGroups);
  const earlyDns = [...read.changes.changedGroups].filter((dn) => listed.has(dn));
  const early = {
    dns: earlyDns,
    read: earlyDns.length ? directory.readGroupEntries(earlyDns) : undefined,
  };
  early.read?.catch(() => undefined);
  const totalsRead = store.readScopedTotals(organisation);
  totalsRead.catch(() => undefined);
  const removedAreDeleted = options.sync.removedUsers === 'delete';
  const present = read.changes.presentUsers;
  const presence = present ? await store.readPresence([...present]) : undefined;
  if (presence && nothingChanged(read.changes, { users: presence })) {
    return { mode: 'delta', whole: false, cursor: read.cursor, ...counts };
  }
  const first = await store.readScopedRows(organisation, {
    ...scopeQuery(read.changes, presence, removedAreDeleted),
    ids: [],
    // Without a present phase, a full run deletes the rows of entries gone earlier: asked for too.
    deactivatedBySync: removedAreDeleted && !presence,
  });
  const totals = await totalsRead;
  // A name without its key cannot be found by key (a run that writes fills the keys in).
  if (totals.unkeyedUsers > 0) return undefined;
  const stateOf = (rows: ScopedRows[]) =>
    scopedState(
      totals.groups,
      rows.flatMap((r) => r.users),
      rows.flatMap((r) => r.memberships),
      first.localUsernames,
      totals.activeUsers,
    );
  let state = stateOf([first]);
  let plan = planDeltaRead(read.changes, state, scope);
  if (plan.fullRead !== undefined) {
    return whole(plan.fullRead);
  }
  if (plan.readAll) return undefined;
  const loginGroup = plan.readLoginGroup ? scope.loginGroup : undefined;
  const dns = [...new Set([...plan.groupsToRead, ...(loginGroup ? [loginGroup] : [])])];
  const done = (snapshot: DirectorySnapshot): RunRead => {
    const entriesRead = counts.entriesRead + snapshot.stats.entriesRead;
    return {
      mode: 'delta',
      snapshot,
      state,
      whole: false,
      cursor: read.cursor,
      ...counts,
      entriesRead,
    };
  };
  if (dns.length === 0) return done(composeDeltaSnapshot(plan, undefined));
  const groupId = new Map(state.groups.map((group) => [group.dn, group.id]));
  // The stored members are read while the directory answers.
  const storedRead = store.readStoredMembers(plan.groupsToRead.flatMap((dn) => groupId.get(dn) ?? []));
  storedRead.catch(() => undefined);
  const rest = dns.filter((dn) => !early.dns.includes(dn));
  const [earlyGroups, restGroups] = await Promise.all([
    early.read,
    rest.length ? directory.readGroupEntries(rest) : undefined,
  ]);
  const entries = new Map([...(earlyGroups?.entries ?? []), ...(restGroups?.entries ?? [])]);
  const entriesRead = (earlyGroups?.entriesRead ?? 0) + (restGroups?.entriesRead ?? 0);
  const stored = await storedRead;
  const diff = memberDiff(
    plan.groupsToRead.flatMap((dn) => {
      const entry = entries.get(dn);
      const memberIds = stored.memberIds.get(groupId.get(dn) ?? 0) ?? [];
      return entry ? [{ members: entry.members, memberIds }] : [];
    }),
    stored.dnOf,
    plan.users,
  );
  const named = await store.readRowsByDnKey(memberKeys(diff.fresh));
  const candidates = [...diff.ids, ...named.map((row) => row.id)];
  if (someValueUnmatched(diff.fresh, named)) candidates.push(...(await store.readNotPlainRows()));
  const known = new Set(state.users.map((user) => user.id));
  const ids = [...new Set(candidates)].filter((id) => !known.has(id));
  if (ids.length) {
    const more = await store.readScopedRows(organisation, {
      uuids: [],
      usernameKeys: [],
      ids,
    });
    state = stateOf([first, more]);
    const groupsToRead = plan.groupsToRead;
    plan = planDeltaRead(read.changes, state, scope);
    if (plan.fullRead !== undefined) {
      return whole(plan.fullRead);
    }
    // Rows of unchanged entries touch no group: the same groups are read.
    if (plan.readAll || plan.groupsToRead.some((dn) => !groupsToRead.includes(dn))) return undefined;
  }
  const groups = resolveScopedGroups(plan.users, entries, plan.groupsToRead, loginGroup, entriesRead);
  return done(composeDeltaSnapshot(plan, groups));
}
