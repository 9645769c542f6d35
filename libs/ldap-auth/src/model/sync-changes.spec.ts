import { describe, expect, it } from '@jest/globals';
import { describeSyncChanges } from './sync-changes.js';
import type { AppLdapUser, AppState, SyncPlan } from './sync-plan.js';

const PEOPLE = 'ou=people,dc=example,dc=com';

function user(id: number, username: string, extra: Partial<AppLdapUser> = {}): AppLdapUser {
  return {
    id,
    uuid: `uuid-${id}`,
    username,
    email: `${username}@example.com`,
    firstName: username,
    lastName: 'Example',
    dn: `uid=${username},${PEOPLE}`,
    isActive: true,
    deactivatedBySync: false,
    ...extra,
  };
}

function emptyPlan(): SyncPlan {
  return {
    userUpdates: [],
    usernameHandovers: [],
    deactivate: [],
    removedIds: [],
    reactivate: [],
    deleteUsers: [],
    createGroups: [],
    renameGroups: [],
    absentGroups: [],
    addMemberships: [],
    removeMemberships: [],
    removals: 0,
    membershipRemovals: 0,
    listedMemberships: 0,
    notes: [],
  };
}

const alice = user(1, 'alice');
const bob = user(2, 'bob');
const carol = user(3, 'carol', { isActive: false, deactivatedBySync: true });
const dave = user(4, 'dave');
const erin = user(5, 'erin');
const team = { id: 10, dn: `cn=team,ou=groups,dc=example,dc=com`, name: 'team', memberIds: [1, 2] };
const state: AppState = { users: [alice, bob, carol, dave, erin], groups: [team], localUsernames: new Set() };

describe('describeSyncChanges', () => {
  it('lists each kind of change with its values before and after', () => {
    const plan: SyncPlan = {
      ...emptyPlan(),
      userUpdates: [
        // Renamed (uid is the RDN: the DN follows, same parent).
        {
          id: 1,
          username: 'alicia',
          email: alice.email,
          firstName: 'alice',
          lastName: 'Example',
          dn: `uid=alicia,${PEOPLE}`,
        },
        // Moved to another OU and a new email.
        {
          id: 2,
          username: 'bob',
          email: 'robert@example.com',
          firstName: 'bob',
          lastName: 'Example',
          dn: `uid=bob,ou=staff,dc=example,dc=com`,
        },
      ],
      deactivate: [4, 5],
      removedIds: [4],
      reactivate: [3],
      createGroups: [{ dn: 'cn=new,ou=groups,dc=example,dc=com', name: 'new' }],
      renameGroups: [{ id: 10, name: 'the-team' }],
      addMemberships: [{ userId: 3, groupDn: 'cn=new,ou=groups,dc=example,dc=com' }],
      removeMemberships: [{ userId: 2, groupId: 10 }],
    };
    const changes = describeSyncChanges(plan, state, { applied: true });
    expect(changes).toEqual({
      applied: true,
      total: 10,
      omitted: 0,
      counts: {
        user_renamed: 1,
        user_moved: 1,
        user_fields_changed: 1,
        user_deactivated: 2,
        user_reactivated: 1,
        group_created: 1,
        group_renamed: 1,
        membership_added: 1,
        membership_removed: 1,
      },
      records: [
        {
          kind: 'user_renamed',
          user: { id: 1, username: 'alice' },
          before: { username: 'alice', ldap_dn: `uid=alice,${PEOPLE}` },
          after: { username: 'alicia', ldap_dn: `uid=alicia,${PEOPLE}` },
        },
        {
          kind: 'user_moved',
          user: { id: 2, username: 'bob' },
          before: { ldap_dn: `uid=bob,${PEOPLE}` },
          after: { ldap_dn: 'uid=bob,ou=staff,dc=example,dc=com' },
        },
        {
          kind: 'user_fields_changed',
          user: { id: 2, username: 'bob' },
          before: { email: 'bob@example.com' },
          after: { email: 'robert@example.com' },
        },
        {
          kind: 'user_deactivated',
          user: { id: 4, username: 'dave' },
          before: { is_active: true },
          after: { is_active: false },
          reason: 'removed',
        },
        {
          kind: 'user_deactivated',
          user: { id: 5, username: 'erin' },
          before: { is_active: true },
          after: { is_active: false },
          reason: 'disabled',
        },
        {
          kind: 'user_reactivated',
          user: { id: 3, username: 'carol' },
          before: { is_active: false },
          after: { is_active: true },
        },
        {
          kind: 'group_created',
          group: { id: null, dn: 'cn=new,ou=groups,dc=example,dc=com', name: 'new' },
          after: { name: 'new', ldap_dn: 'cn=new,ou=groups,dc=example,dc=com' },
        },
        {
          kind: 'group_renamed',
          group: { id: 10, dn: team.dn, name: 'team' },
          before: { name: 'team' },
          after: { name: 'the-team' },
        },
        {
          kind: 'membership_added',
          user: { id: 3, username: 'carol' },
          group: { id: null, dn: 'cn=new,ou=groups,dc=example,dc=com', name: 'new' },
        },
        { kind: 'membership_removed', user: { id: 2, username: 'bob' }, group: { id: 10, dn: team.dn, name: 'team' } },
      ],
    });
  });

  it('records deletions and names handed over, with what the row held', () => {
    const plan: SyncPlan = { ...emptyPlan(), deleteUsers: [4], usernameHandovers: [5], removedIds: [4, 5] };
    expect(describeSyncChanges(plan, state, { applied: false }).records).toEqual([
      { kind: 'username_released', user: { id: 5, username: 'erin' }, before: { username: 'erin' } },
      {
        kind: 'user_deleted',
        user: { id: 4, username: 'dave' },
        before: { ldap_dn: `uid=dave,${PEOPLE}`, is_active: true },
      },
    ]);
  });

  it('lists the first changes up to the cap and counts every one', () => {
    const many = Array.from({ length: 2_500 }, (_, i) => ({ userId: 1 + (i % 5), groupDn: `cn=g${i},ou=groups` }));
    const plan: SyncPlan = { ...emptyPlan(), addMemberships: many, deactivate: [1] };
    const changes = describeSyncChanges(plan, state, { applied: true, limit: 1_000 });
    expect(changes.total).toBe(2_501);
    expect(changes.counts).toEqual({ user_deactivated: 1, membership_added: 2_500 });
    expect(changes.records).toHaveLength(1_000);
    expect(changes.omitted).toBe(1_501);
    // Plan order: the user's change first, then the memberships in order.
    expect(changes.records[0].kind).toBe('user_deactivated');
    expect(changes.records[999].group?.dn).toBe('cn=g998,ou=groups');
  });

  it('is empty for a plan that changes nothing', () => {
    expect(describeSyncChanges(emptyPlan(), state, { applied: true })).toEqual({
      applied: true,
      total: 0,
      counts: {},
      records: [],
      omitted: 0,
    });
  });

  it('takes a new RDN under the same parent for a rename, a new parent for a move', () => {
    const plan: SyncPlan = {
      ...emptyPlan(),
      userUpdates: [{ ...alice, dn: `cn=Alice Example,${PEOPLE.toUpperCase()}` }],
    };
    expect(describeSyncChanges(plan, state, { applied: true }).records).toEqual([
      {
        kind: 'user_renamed',
        user: { id: 1, username: 'alice' },
        before: { ldap_dn: alice.dn },
        after: { ldap_dn: `cn=Alice Example,${PEOPLE.toUpperCase()}` },
      },
    ]);
  });
});
