import { describe, expect, it } from '@jest/globals';
import type { SnapshotUser } from './directory-snapshot.js';
import { emailKey, type LinkAppUser, planUserLinks } from './user-link-plan.js';

let ordinal = 0;
const entry = (username: string | null, email: string | null, extra: Partial<SnapshotUser> = {}): SnapshotUser => ({
  ordinal: ordinal++,
  uuid: `uuid-${username ?? ordinal}`,
  dn: `uid=${username ?? ordinal},ou=people,dc=example,dc=org`,
  username,
  email,
  firstName: null,
  lastName: null,
  disabled: false,
  ...extra,
});
const row = (
  id: number,
  username: string,
  email: string | null = null,
  ldapUuid: string | null = null,
): LinkAppUser => ({
  id,
  username,
  email,
  ldapUuid,
});

describe('planUserLinks', () => {
  it('links by username only the exact name, with usernameKey finding case-only differences', () => {
    const plan = planUserLinks(
      [entry('alice', null), entry('Bob', null), entry('ΣΊΣΥΦΟΣ', null)],
      [row(1, 'alice'), row(2, 'bob'), row(3, 'carol'), row(4, 'σίσυφος')],
      'username',
    );
    expect(plan.links.map((l) => [l.userId, l.ldapUuid])).toEqual([[1, 'uuid-alice']]);
    expect(plan.conflicts.map((c) => [c.userId, c.kind])).toEqual([
      [2, 'case-differs'],
      [3, 'no-entry'],
      [4, 'case-differs'],
    ]);
  });

  it('links a multi-valued username by any of its values', () => {
    const plan = planUserLinks(
      [entry('dave', null, { usernames: ['dave', 'd.smith'] })],
      [row(1, 'd.smith')],
      'username',
    );
    expect(plan.links.map((l) => [l.userId, l.entryUsername])).toEqual([[1, 'dave']]);
  });

  it('compares emails folding ASCII case only', () => {
    expect(emailKey('Ann.Lee@Example.ORG')).toBe('ann.lee@example.org');
    expect(emailKey('ÉMILE@x.org')).toBe('Émile@x.org');
    const plan = planUserLinks(
      [entry('ann', 'Ann@Example.org'), entry('emile', 'émile@x.org')],
      [row(1, 'a.lee', 'ann@example.ORG'), row(2, 'e', 'Émile@x.org'), row(3, 'nomail')],
      'email',
    );
    expect(plan.links.map((l) => [l.userId, l.ldapUuid, l.entryUsername])).toEqual([[1, 'uuid-ann', 'ann']]);
    expect(plan.conflicts.map((c) => [c.userId, c.kind])).toEqual([
      [2, 'no-entry'],
      [3, 'no-entry'],
    ]);
  });

  it('proposes nothing ambiguous: two entries, two rows, an entry already linked, a taken username', () => {
    const plan = planUserLinks(
      [
        entry('twin1', 'twin@example.org'),
        entry('twin2', 'twin@example.org'),
        entry('shared', 'shared@example.org'),
        entry('owned', 'owned@example.org'),
        entry('taken', 'taken@example.org'),
      ],
      [
        row(1, 'x1', 'twin@example.org'),
        row(2, 'x2', 'shared@example.org'),
        row(3, 'x3', 'Shared@example.org'),
        row(4, 'x4', 'owned@example.org'),
        row(5, 'owned', null, 'uuid-owned'),
        row(6, 'x6', 'taken@example.org'),
        row(7, 'TAKEN'),
      ],
      'email',
    );
    expect(plan.links).toEqual([]);
    expect(plan.conflicts.map((c) => [c.userId, c.kind, c.entries.length])).toEqual([
      [1, 'ambiguous-entry', 2],
      [2, 'ambiguous-user', 1],
      [3, 'ambiguous-user', 1],
      [4, 'entry-linked', 1],
      [6, 'username-taken', 1],
      [7, 'no-entry', 0],
    ]);
  });

  it('never proposes an entry whose DN could not be stored, or a disabled account', () => {
    const plan = planUserLinks(
      [entry('long', null, { dn: null }), entry('off', null, { disabled: true })],
      [row(1, 'long'), row(2, 'off')],
      'username',
    );
    expect(plan.conflicts.map((c) => c.kind)).toEqual(['entry-unusable', 'entry-disabled']);
  });
});
