import { describe, expect, it } from '@jest/globals';
import { type DeltaScope, planDeltaRead } from './delta-snapshot.js';
import type { AppLdapUser, AppState } from '../model/sync-plan.js';
import type { DirectoryChanges } from '../model/directory-changes.js';

const row = (id: number, extra: Partial<AppLdapUser> = {}): AppLdapUser => ({
  id,
  uuid: `u${id}`,
  username: `user${id}`,
  email: null,
  firstName: null,
  lastName: null,
  dn: `cn=user${id},ou=people,dc=example,dc=test`,
  isActive: true,
  deactivatedBySync: false,
  ...extra,
});

const scope = (activeDirectory: boolean): DeltaScope => ({
  listedGroups: [],
  nestedGroups: false,
  memberAttribute: 'member',
  primaryGroups: false,
  activeDirectory,
});

const changes = (extra: Partial<DirectoryChanges>): DirectoryChanges => ({
  changedUsers: [],
  deletedUsers: new Set(),
  changedGroups: new Set(['cn=other,dc=example,dc=test']),
  ...extra,
});

describe('planDeltaRead on Active Directory', () => {
  // Row 2 was deactivated by the sync because its account is disabled; row 3 because it left the directory.
  const state: AppState = {
    users: [
      row(1),
      row(2, { isActive: false, deactivatedBySync: true }),
      row(3, { isActive: false, deactivatedBySync: true }),
    ],
    groups: [],
    localUsernames: new Set(),
  };

  it('keeps an unchanged disabled account disabled, and one gone out, from the presence scan', () => {
    const plan = planDeltaRead(
      changes({ presentUsers: new Set(['u1', 'u2']), disabledUsers: new Set(['u2']) }),
      state,
      scope(true),
    );
    expect(plan.fullRead).toBeUndefined();
    if (plan.fullRead !== undefined) return;
    expect(plan.users.map((u) => [u.uuid, u.disabled])).toEqual([
      ['u1', false],
      ['u2', true],
    ]);
  });

  it('reads everything when the read does not say which present accounts are disabled', () => {
    const plan = planDeltaRead(changes({ presentUsers: new Set(['u1', 'u2']) }), state, scope(true));
    expect(plan.fullRead).toMatch(/disabled/);
  });
});
