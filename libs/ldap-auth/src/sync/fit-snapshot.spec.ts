import { describe, expect, it } from '@jest/globals';
import { fitSnapshotToColumns } from './fit-snapshot.js';
import type { DirectorySnapshot, SnapshotUser } from '../model/directory-snapshot.js';

const user = (partial: Partial<SnapshotUser>): SnapshotUser => ({
  ordinal: 0,
  uuid: 'u1',
  dn: 'uid=a,dc=x',
  username: 'a',
  email: 'a@x.test',
  firstName: 'A',
  lastName: 'B',
  disabled: false,
  ...partial,
});

function snapshot(users: SnapshotUser[], groups: Array<{ dn: string; name: string }> = []): DirectorySnapshot {
  return {
    users: new Map(users.map((u, ordinal) => [u.uuid, { ...u, ordinal }])),
    ordinals: users.length,
    groups: new Map(groups.map((g) => [g.dn, { ...g, members: [] }])),
    missingGroups: new Set(),
    stats: { entriesRead: users.length, pages: 1 },
  };
}

describe('fitSnapshotToColumns (values the columns cannot hold, the same on every database)', () => {
  it('leaves a username or DN with a NUL character unwritten, drops such an email, takes it out of names', () => {
    const snap = snapshot([
      user({ uuid: 'u1', username: 'a\0b', email: 'a\0@x.test', firstName: 'A\0da', lastName: 'Lo\0ve' }),
      user({ uuid: 'u2', dn: 'uid=b\0,dc=x', username: 'b' }),
    ]);
    const { snapshot: fitted, notes } = fitSnapshotToColumns(snap);
    expect(fitted.users.get('u1')).toMatchObject({ username: null, email: null, firstName: 'Ada', lastName: 'Love' });
    expect(fitted.users.get('u2')).toMatchObject({ dn: null, username: 'b' });
    expect(notes).toEqual([
      'uid=a,dc=x: username contains a NUL character, not written',
      'uid=a,dc=x: email contains a NUL character, stored as null',
      '"uid=b\\u0000,dc=x"…: DN contains a NUL character, not written',
    ]);
  });

  it('cuts names as a login does (never between a letter and its accent), and leaves out a group DN too long', () => {
    const longDn = `cn=g,${'ou=x,'.repeat(500)}dc=x`;
    const snap = snapshot(
      [user({ lastName: 'e\u0301'.repeat(150) })],
      [
        { dn: 'cn=ok,dc=x', name: `n${'\0'}${'g'.repeat(300)}` },
        { dn: longDn, name: 'too long' },
      ],
    );
    const { snapshot: fitted, notes } = fitSnapshotToColumns(snap);
    expect(fitted.users.get('u1')?.lastName).toBe('e\u0301'.repeat(127));
    expect(fitted.groups.get('cn=ok,dc=x')?.name).toBe(`n${'g'.repeat(254)}`);
    expect(fitted.groups.has(longDn)).toBe(false);
    expect(notes.join('\n')).toMatch(
      /DN longer than groups\.ldap_dn holds \(2048 characters, 2600 bytes\).*not mirrored/,
    );
  });

  it("leaves the reader's snapshot as it was, and the fitted groups' members are the fitted users", () => {
    const snap = snapshot(
      [user({ uuid: 'u1', email: `${'m'.repeat(300)}@x.test` }), user({ uuid: 'u2' })],
      [{ dn: 'cn=g,dc=x', name: 'g' }],
    );
    const group = snap.groups.get('cn=g,dc=x')!;
    group.members.push(snap.users.get('u1')!, snap.users.get('u2')!);
    const { snapshot: fitted } = fitSnapshotToColumns(snap);
    expect(snap.users.get('u1')?.email).toHaveLength(307);
    expect(fitted.users.get('u1')?.email).toBeNull();
    expect(fitted.users.get('u2')).toBe(snap.users.get('u2'));
    expect(fitted.groups.get('cn=g,dc=x')?.members).toEqual([fitted.users.get('u1'), fitted.users.get('u2')]);
    expect(fitted.groups.get('cn=g,dc=x')?.members[0]).toBe(fitted.users.get('u1'));
  });
});
