import { describe, expect, it } from '@jest/globals';
import { composeDeltaSnapshot, type DeltaScope, planDeltaRead } from './delta-snapshot.js';
import { memberDiff, scopedState, scopeQuery, scopeRefused, someValueUnmatched } from './delta-scope.js';
import { reconcile } from './reconcile.js';
import type { AppLdapUser, AppState } from '../model/sync-plan.js';
import type { DirectoryChanges } from '../model/directory-changes.js';
import type { SnapshotUser } from '../model/directory-snapshot.js';
import { usernameKey } from '../model/username-key.js';

const dnOfName = (name: string) => `uid=${name},ou=people,dc=example,dc=test`;

const row = (id: number, name: string, extra: Partial<AppLdapUser> = {}): AppLdapUser => ({
  id,
  uuid: `u${id}`,
  username: name,
  email: null,
  firstName: null,
  lastName: null,
  dn: dnOfName(name),
  isActive: true,
  deactivatedBySync: false,
  ...extra,
});

const entry = (id: number, name: string, extra: Partial<SnapshotUser> = {}): SnapshotUser => ({
  ordinal: 0,
  uuid: `u${id}`,
  dn: dnOfName(`x${id}`),
  username: name,
  email: null,
  firstName: null,
  lastName: null,
  disabled: false,
  ...extra,
});

const scope: DeltaScope = {
  listedGroups: [],
  nestedGroups: false,
  memberAttribute: 'member',
  primaryGroups: false,
  activeDirectory: false,
};

const changes = (extra: Partial<DirectoryChanges>): DirectoryChanges => ({
  changedUsers: [],
  deletedUsers: new Set(),
  changedGroups: new Set(),
  ...extra,
});

/** What the store answers for a scope query (read-delta-state.ts), over a whole state held in memory. */
function scopedFrom(whole: AppState, local: string[], delta: DirectoryChanges): AppState {
  const query = scopeQuery(delta);
  const uuids = new Set(query.uuids);
  const keys = new Set(query.usernameKeys);
  const users = whole.users.filter((u) => uuids.has(u.uuid) || keys.has(usernameKey(u.username)));
  const localKeys = local.map(usernameKey).filter((key) => keys.has(key));
  return scopedState([], users, [], localKeys, whole.users.filter((u) => u.isActive).length);
}

/** The plan of a delta over `state` (no listed groups, so none is read). */
function planOver(state: AppState, delta: DirectoryChanges) {
  const plan = planDeltaRead(delta, state, scope);
  if (plan.fullRead !== undefined) throw new Error(plan.fullRead);
  return reconcile(composeDeltaSnapshot(plan, undefined), state, { removedUsers: 'deactivate' });
}

describe('a delta scoped to the rows its changes concern', () => {
  const local = ['carol'];
  const whole: AppState = {
    users: [row(1, 'alice'), row(2, 'bob'), row(3, 'dave'), row(4, 'erin')],
    groups: [],
    localUsernames: new Set(local.map(usernameKey)),
  };

  it("refuses a changed user the name an unchanged user holds, as the whole state's plan does", () => {
    const delta = changes({ changedUsers: [entry(1, 'BOB')] });
    const scoped = scopedFrom(whole, local, delta);
    expect(scoped.users.map((u) => u.id).sort()).toEqual([1, 2]);
    const plan = planOver(scoped, delta);
    expect(plan.userUpdates.map((u) => [u.id, u.username])).toEqual([[1, 'alice']]);
    expect(plan.notes).toEqual([`user 1 keeps the name "alice": "BOB" is also the name of user 2`]);
    expect(plan.notes).toEqual(planOver(whole, delta).notes);
  });

  it("refuses a changed user a local user's name", () => {
    const delta = changes({ changedUsers: [entry(1, 'Carol')] });
    const plan = planOver(scopedFrom(whole, local, delta), delta);
    expect(plan.notes).toEqual([`user 1 keeps the name "alice": "Carol" belongs to a local user of the app`]);
  });

  it('hands the name of a deleted entry to the changed user that takes it, and touches no other row', () => {
    const delta = changes({ changedUsers: [entry(1, 'dave')], deletedUsers: new Set(['u3']) });
    const scoped = planOver(scopedFrom(whole, local, delta), delta);
    const full = planOver(whole, delta);
    expect(scoped.deactivate).toEqual([3]);
    expect(scoped.usernameHandovers).toEqual([3]);
    expect(scoped.userUpdates.map((u) => [u.id, u.username])).toEqual([[1, 'dave']]);
    expect({ ...scoped, notes: [] }).toEqual({ ...full, notes: [] });
  });

  it('asks for the rows whose presence a present phase changes, and when removed users are deleted, every row gone', () => {
    const presence = [
      { uuid: 'u5', now: false, before: true },
      { uuid: 'u6', now: false, before: false },
      { uuid: 'u7', now: true, before: false },
    ];
    const delta = changes({ presentUsers: new Set(['u7']) });
    expect(scopeQuery(delta, presence).uuids.sort()).toEqual(['u5', 'u7']);
    expect(scopeQuery(delta, presence, true).uuids.sort()).toEqual(['u5', 'u6', 'u7']);
  });
});

describe('memberDiff', () => {
  const users = [entry(9, 'zed', { dn: dnOfName('zed') })];

  it('names the rows that are members on one side only, and the values naming no stored member nor scoped user', () => {
    const dnOf = new Map<number, string | null>([
      [1, dnOfName('alice')],
      [2, dnOfName('bob')],
      [3, null],
      [4, dnOfName('dave')],
    ]);
    const diff = memberDiff(
      [
        {
          members: [dnOfName('alice').toUpperCase(), dnOfName('carol'), dnOfName('zed'), dnOfName('dave')],
          memberIds: [1, 2, 3],
        },
      ],
      dnOf,
      users,
    );
    // 2: no value names bob; 3: no DN to tell; 4: dave is a member of another group read, not of this one.
    expect(diff.ids.sort()).toEqual([2, 3, 4]);
    expect(diff.fresh).toEqual([dnOfName('carol')]);
  });

  it('takes a value spelled otherwise than a member another value names as written as fresh (found by DN then)', () => {
    const dnOf = new Map<number, string | null>([[1, dnOfName('alice')]]);
    const diff = memberDiff(
      [
        { members: [dnOfName('alice')], memberIds: [1] },
        { members: [dnOfName('alice').toUpperCase()], memberIds: [] },
      ],
      dnOf,
      users,
    );
    // Named as written in the first group, of which she is a member; the other spelling is looked up by DN in
    // the database (readRowsByDnKey), which finds her row: in scope all the same.
    expect(diff.ids).toEqual([]);
    expect(diff.fresh).toEqual([dnOfName('alice').toUpperCase()]);
  });

  it('tells the values that no row found by lower-cased DN names', () => {
    const rows = [{ id: 4, dn: dnOfName('Carol') }];
    expect(someValueUnmatched([dnOfName('carol')], rows)).toBe(false);
    expect(someValueUnmatched([dnOfName('carol'), 'cn=M\\C3\\BCller,dc=test'], rows)).toBe(true);
  });
});

describe('scopeRefused', () => {
  it('refuses to scope a delta in which the login group changed: any row may come in or go out', () => {
    const login = 'cn=staff,dc=example,dc=test';
    const withLogin = { ...scope, loginGroup: login };
    expect(scopeRefused(changes({ changedGroups: new Set([login]) }), withLogin)).toMatch(/login group/);
    expect(scopeRefused(changes({ changedGroups: new Set(['cn=other,dc=example,dc=test']) }), withLogin)).toBe(
      undefined,
    );
  });
});
