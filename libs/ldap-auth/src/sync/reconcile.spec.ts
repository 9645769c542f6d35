import { describe, expect, it } from '@jest/globals';
import type { DirectorySnapshot, SnapshotGroup, SnapshotUser } from '../model/directory-snapshot.js';
import { reconcile } from './reconcile.js';
import { type AppLdapUser, type AppState, planCounts, planIsEmpty } from '../model/sync-plan.js';

/** An entry; snapshot() gives each its ordinal. */
const entry = (uuid: string, username: string, extra: Partial<SnapshotUser> = {}): SnapshotUser => ({
  ordinal: -1,
  uuid,
  dn: `uid=${username},ou=people,dc=x`,
  username,
  email: `${username}@x`,
  firstName: 'F',
  lastName: 'L',
  disabled: false,
  ...extra,
});
const row = (id: number, uuid: string, username: string, extra: Partial<AppLdapUser> = {}): AppLdapUser => ({
  id,
  uuid,
  username,
  email: `${username}@x`,
  firstName: 'F',
  lastName: 'L',
  dn: `uid=${username},ou=people,dc=x`,
  isActive: true,
  deactivatedBySync: false,
  ...extra,
});
/** A group of the snapshot, its members named by uuid (snapshot() resolves them to the entries). */
const group = (dn: string, name: string, memberUuids: string[]) => ({ dn, name, memberUuids });

function snapshot(
  users: SnapshotUser[],
  groups: Array<ReturnType<typeof group>> = [],
  missing: string[] = [],
): DirectorySnapshot {
  let ordinals = 0;
  const byUuid = new Map(users.map((u) => [u.uuid, { ...u, ordinal: ordinals++ }]));
  // A member uuid that is not among `users` stands for an entry the app has no row for.
  const others = new Map<string, SnapshotUser>();
  const member = (uuid: string): SnapshotUser => {
    const known = byUuid.get(uuid) ?? others.get(uuid);
    if (known) return known;
    const other = { ...entry(uuid, `name-of-${uuid}`), ordinal: ordinals++ };
    others.set(uuid, other);
    return other;
  };
  const resolved = groups.map(({ dn, name, memberUuids }): SnapshotGroup => ({
    dn,
    name,
    members: [...new Set(memberUuids.map(member))],
  }));
  return {
    users: byUuid,
    ordinals,
    groups: new Map(resolved.map((g) => [g.dn, g])),
    missingGroups: new Set(missing),
    stats: { entriesRead: users.length, pages: 1 },
  };
}
function state(partial: Partial<AppState>): AppState {
  return { users: [], groups: [], localUsernames: new Set(), ...partial };
}
const DELETE = { removedUsers: 'delete' as const };
const DEACTIVATE = { removedUsers: 'deactivate' as const };

describe('reconcile: users', () => {
  it('plans nothing when the directory and the app agree', () => {
    const plan = reconcile(snapshot([entry('u1', 'alice')]), state({ users: [row(1, 'u1', 'alice')] }), DELETE);
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('refreshes the same row on a rename or an OU move, never a delete and re-create', () => {
    const moved = entry('u1', 'alice2', { dn: 'uid=alice2,ou=staff,dc=x', email: 'new@x', lastName: 'N' });
    const plan = reconcile(snapshot([moved]), state({ users: [row(1, 'u1', 'alice')] }), DELETE);
    expect(plan.userUpdates).toEqual([
      { id: 1, username: 'alice2', email: 'new@x', firstName: 'F', lastName: 'N', dn: 'uid=alice2,ou=staff,dc=x' },
    ]);
    expect(plan.deleteUsers).toEqual([]);
  });

  it('deletes users whose entry is gone (delete policy), and counts them as removals', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a')]),
      state({ users: [row(1, 'u1', 'a'), row(2, 'u2', 'b')] }),
      DELETE,
    );
    expect(plan.deleteUsers).toEqual([2]);
    expect(plan.removals).toBe(1);
  });

  it('deactivates them instead with the deactivate policy, once', () => {
    const users = [
      row(1, 'u1', 'a'),
      row(2, 'u2', 'b'),
      row(3, 'u3', 'c', { isActive: false, deactivatedBySync: true }),
    ];
    const plan = reconcile(snapshot([entry('u1', 'a')]), state({ users }), DEACTIVATE);
    expect(plan.deactivate).toEqual([2]);
    expect(plan.deleteUsers).toEqual([]);
    expect(plan.removals).toBe(1);
  });

  it('deactivates a disabled AD account, and reactivates it when enabled again', () => {
    const disabled = reconcile(
      snapshot([entry('u1', 'a', { disabled: true })]),
      state({ users: [row(1, 'u1', 'a')] }),
      DELETE,
    );
    expect(disabled.deactivate).toEqual([1]);
    expect(disabled.removals).toBe(1);
    const enabled = reconcile(
      snapshot([entry('u1', 'a')]),
      state({ users: [row(1, 'u1', 'a', { isActive: false, deactivatedBySync: true })] }),
      DELETE,
    );
    expect(enabled.reactivate).toEqual([1]);
  });

  it('never reactivates a user deactivated in the app', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a')]),
      state({ users: [row(1, 'u1', 'a', { isActive: false, deactivatedBySync: false })] }),
      DELETE,
    );
    expect(plan.reactivate).toEqual([]);
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('never creates users (only a login does)', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a'), entry('u9', 'new')]),
      state({ users: [row(1, 'u1', 'a')] }),
      DELETE,
    );
    expect(planIsEmpty(plan)).toBe(true);
  });

  it("keeps a row's name when the entry's new name belongs to a local user", () => {
    const plan = reconcile(
      snapshot([entry('u1', 'admin')]),
      state({ users: [row(1, 'u1', 'a')], localUsernames: new Set(['admin']) }),
      DELETE,
    );
    expect(plan.userUpdates[0].username).toBe('a');
    expect(plan.notes[0]).toMatch(/belongs to a local user/);
  });

  it('lets two entries swap names (the store renames in two steps)', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'b'), entry('u2', 'a')]),
      state({ users: [row(1, 'u1', 'a'), row(2, 'u2', 'b')] }),
      DELETE,
    );
    expect(plan.userUpdates.map((u) => [u.id, u.username])).toEqual([
      [1, 'b'],
      [2, 'a'],
    ]);
  });

  it("hands a removed entry's name to a re-created entry (deactivate policy keeps the old row, renamed away)", () => {
    // "bob" left; a new entry (another stable id) renamed to "bob" already has a row under another name.
    const plan = reconcile(
      snapshot([entry('u3', 'bob')]),
      state({ users: [row(2, 'u2', 'bob'), row(3, 'u3', 'robert')] }),
      DEACTIVATE,
    );
    expect(plan.deactivate).toEqual([2]);
    expect(plan.usernameHandovers).toEqual([2]);
    expect(plan.userUpdates[0]).toMatchObject({ id: 3, username: 'bob' });
  });

  it('refuses a name still held by another present entry (the directory disagrees with itself)', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a'), entry('u2', 'a', { dn: 'uid=a,ou=other,dc=x' })]),
      state({ users: [row(1, 'u1', 'a'), row(2, 'u2', 'b')] }),
      DELETE,
    );
    expect(plan.userUpdates.find((u) => u.id === 2)?.username).toBe('b');
    expect(plan.notes.join()).toMatch(/also the name of user 1/);
  });
});

describe('reconcile: one rule for "the same username"', () => {
  it('compares names by usernameKey: a local "ÉMILE" holds "émile", a full-width name its ASCII form', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'émile'), entry('u2', 'ｂｏｂ')]),
      state({ users: [row(1, 'u1', 'e'), row(2, 'u2', 'b')], localUsernames: new Set(['émile', 'bob']) }),
      DELETE,
    );
    expect(plan.userUpdates.map((u) => [u.id, u.username])).toEqual([
      [1, 'e'],
      [2, 'b'],
    ]);
    expect(plan.notes).toHaveLength(2);
  });

  it('considers every row holding a name: a removed one gives it up, a present one still refuses it', () => {
    // Rows 2 ("ann", entry gone) and 3 ("ANN", present and keeping it) both hold the name row 1 wants.
    const plan = reconcile(
      snapshot([entry('u1', 'ann'), entry('u3', 'ANN')]),
      state({ users: [row(1, 'u1', 'a'), row(3, 'u3', 'ANN'), row(2, 'u2', 'ann')] }),
      DEACTIVATE,
    );
    expect(plan.userUpdates.find((u) => u.id === 1)?.username).toBe('a');
    expect(plan.usernameHandovers).toEqual([]);
    expect(plan.notes.join()).toMatch(/"ann" is also the name of user 3/);
  });

  it('hands a name over from every removed row holding it', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'ann')]),
      state({ users: [row(1, 'u1', 'a'), row(2, 'u2', 'ann'), row(3, 'u3', 'ANN')] }),
      DEACTIVATE,
    );
    expect(plan.usernameHandovers).toEqual([2, 3]);
    expect(plan.userUpdates[0]).toMatchObject({ id: 1, username: 'ann' });
  });

  it("keeps a row's name when it is one of a multi-valued username's values, else takes the first", () => {
    const both = { usernames: ['first', 'second'] };
    const plan = reconcile(
      snapshot([entry('u1', 'first', both), entry('u2', 'first2', { usernames: ['first2', 'x'] })]),
      state({ users: [row(1, 'u1', 'second'), row(2, 'u2', 'gone')] }),
      DELETE,
    );
    expect(plan.userUpdates.map((u) => [u.id, u.username])).toEqual([
      [1, 'second'],
      [2, 'first2'],
    ]);
  });
});

describe('reconcile: groups', () => {
  const DEV = 'cn=dev,ou=groups,dc=x';
  const OPS = 'cn=ops,ou=groups,dc=x';

  it("sets a group's members to exactly the directory's, among the app's LDAP users", () => {
    const plan = reconcile(
      snapshot(
        [entry('u1', 'a'), entry('u2', 'b'), entry('u3', 'c')],
        [group(DEV, 'dev', ['u1', 'u3', 'u-not-in-app'])],
      ),
      state({
        users: [row(1, 'u1', 'a'), row(2, 'u2', 'b'), row(3, 'u3', 'c')],
        groups: [{ id: 10, dn: DEV, name: 'dev', memberIds: [1, 2] }],
      }),
      DELETE,
    );
    expect(plan.addMemberships).toEqual([{ userId: 3, groupDn: DEV }]);
    expect(plan.removeMemberships).toEqual([{ userId: 2, groupId: 10 }]);
  });

  it('creates a listed group that has members in the app but no row, named from its cn', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a')], [group(DEV, 'dev', ['u1']), group(OPS, 'ops', ['u-unknown'])]),
      state({ users: [row(1, 'u1', 'a')] }),
      DELETE,
    );
    expect(plan.createGroups).toEqual([{ dn: DEV, name: 'dev' }]);
    expect(plan.addMemberships).toEqual([{ userId: 1, groupDn: DEV }]);
  });

  it('never deletes a listed group the read did not find: its row is reported, an unlisted one is left alone', () => {
    const plan = reconcile(
      snapshot([entry('u1', 'a')], [], [DEV, 'cn=new,ou=groups,dc=x']),
      state({
        users: [row(1, 'u1', 'a')],
        groups: [
          { id: 10, dn: DEV, name: 'dev', memberIds: [1] },
          { id: 11, dn: OPS, name: 'ops', memberIds: [1] },
        ],
      }),
      DELETE,
    );
    expect(plan.absentGroups).toEqual([{ id: 10, dn: DEV }]);
    expect(plan.removeMemberships).toEqual([]);
    expect(plan.notes.join('\n')).toMatch(/group 11 .* no longer in LDAP_SYNCED_GROUPS/);
    // Absent with no row: nothing to lose, nothing to write.
    expect(plan.notes.join('\n')).toMatch(/listed group cn=new,ou=groups,dc=x was not found .*: not mirrored/);
  });

  it('renames a group whose cn changed', () => {
    const plan = reconcile(
      snapshot([], [group(DEV, 'developers', [])]),
      state({ groups: [{ id: 10, dn: DEV, name: 'dev', memberIds: [] }] }),
      DELETE,
    );
    expect(plan.renameGroups).toEqual([{ id: 10, name: 'developers' }]);
  });

  it('takes removed users out of groups when they are kept deactivated; deleted ones go with their row', () => {
    const s = state({
      users: [row(1, 'u1', 'a'), row(2, 'u2', 'b')],
      groups: [{ id: 10, dn: DEV, name: 'dev', memberIds: [2, 1] }],
    });
    const snap = snapshot([entry('u1', 'a')], [group(DEV, 'dev', ['u1'])]);
    expect(reconcile(snap, s, DEACTIVATE).removeMemberships).toEqual([{ userId: 2, groupId: 10 }]);
    expect(reconcile(snap, s, DELETE).removeMemberships).toEqual([]);
    expect(planCounts(reconcile(snap, s, DELETE))).toMatchObject({ usersRemoved: 1, membershipsRemoved: 0 });
  });

  it("counts for the membership guard only memberships taken from users who stay, out of the listed groups' own", () => {
    const s = state({
      users: [row(1, 'u1', 'a'), row(2, 'u2', 'b'), row(3, 'u3', 'c')],
      groups: [
        { id: 10, dn: DEV, name: 'dev', memberIds: [1, 2, 3] },
        { id: 11, dn: OPS, name: 'ops', memberIds: [1] },
        { id: 12, dn: 'cn=unlisted,dc=x', name: 'unlisted', memberIds: [1, 2] },
      ],
    });
    // u3 is gone (a user removal); u2 left dev; u1 left ops.
    const snap = snapshot([entry('u1', 'a'), entry('u2', 'b')], [group(DEV, 'dev', ['u1']), group(OPS, 'ops', [])]);
    const plan = reconcile(snap, s, DEACTIVATE);
    expect(plan.removeMemberships).toHaveLength(3);
    expect(plan.membershipRemovals).toBe(2);
    expect(plan.listedMemberships).toBe(4);
    expect(plan.removals).toBe(1);
  });
});
