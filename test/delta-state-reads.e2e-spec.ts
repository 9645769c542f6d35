/**
 * A scoped delta's reads of the app's state (persistence/sync/read-delta-state.ts), on each database the scoped
 * delta runs on: the stored members of the groups it reads again, every member with its DN whatever the DNs
 * hold; the counts the removal guards weigh against.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl, GroupEntity, OrganisationEntity, UserEntity } from '@nest-ldap-auth/ldap-auth';
import { readScopedTotals, readStoredMembers } from '../libs/ldap-auth/src/persistence/sync/read-delta-state.js';
import { SqlDialect } from '../libs/ldap-auth/src/persistence/sql-dialect.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

describe.each(['sqlite', 'postgres'] as const)('stored members of the groups a delta reads again (%s)', (kind) => {
  let db: TestDatabase;
  let ds: DataSource;
  const ids: Record<string, number> = {};

  async function user(name: string, ldapDn: string | null, local = false): Promise<number> {
    const ldapUuid = local ? null : `uuid-${name}`;
    const row = await ds.getRepository(UserEntity).save({ username: name, ldapUuid, ldapDn });
    return (ids[name] = row.id);
  }

  async function group(name: string, members: number[]): Promise<number> {
    const row = await ds.getRepository(GroupEntity).save({ organisationId: 1, name, ldapDn: `cn=${name},ou=groups` });
    for (const member of members) {
      await ds.query(`INSERT INTO user_groups (user_id, group_id) VALUES (${member}, ${row.id})`);
    }
    return row.id;
  }

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    ds = await new DataSource(databaseOptionsFromUrl(db.url)).initialize();
    await ds.getRepository(OrganisationEntity).save({ id: 1, name: 'Default' });
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('gives each group its members and each member its DN (none for a row without one)', async () => {
    const ann = await user('ann', 'uid=ann,ou=people,dc=example,dc=com');
    const bob = await user('bob', 'cn=Bob\\, Jr.,ou=people,dc=example,dc=com');
    const cyd = await user('cyd', null);
    const staff = await group('staff', [ann, bob, cyd]);
    const ops = await group('ops', [bob]);
    await group('other', [ann]);
    const stored = await readStoredMembers(ds.manager, SqlDialect.of(ds), [staff, ops]);
    expect([...stored.memberIds.keys()].sort()).toEqual([staff, ops].sort());
    expect(stored.memberIds.get(staff)!.sort()).toEqual([ann, bob, cyd].sort());
    expect(stored.memberIds.get(ops)).toEqual([bob]);
    expect(Object.fromEntries(stored.dnOf)).toEqual({
      [ann]: 'uid=ann,ou=people,dc=example,dc=com',
      [bob]: 'cn=Bob\\, Jr.,ou=people,dc=example,dc=com',
      [cyd]: null,
    });
  });

  it('keeps a DN that holds a line break whole (a hostile directory may write one)', async () => {
    const eve = await user('eve', 'uid=eve\nuid=ann,ou=people,dc=example,dc=com');
    const dan = await user('dan', 'uid=dan,ou=people,dc=example,dc=com');
    const mixed = await group('mixed', [eve, dan]);
    const stored = await readStoredMembers(ds.manager, SqlDialect.of(ds), [mixed]);
    expect(stored.memberIds.get(mixed)!.sort()).toEqual([eve, dan].sort());
    expect(stored.dnOf.get(eve)).toBe('uid=eve\nuid=ann,ou=people,dc=example,dc=com');
    expect(stored.dnOf.get(dan)).toBe('uid=dan,ou=people,dc=example,dc=com');
  });

  it("counts each listed group's LDAP members for the removal guards, not the local users in it", async () => {
    const fay = await user('fay', 'uid=fay,ou=people,dc=example,dc=com');
    const gus = await user('gus', 'uid=gus,ou=people,dc=example,dc=com');
    const local = await user('local-admin', null, true);
    const counted = await group('counted', [fay, gus, local]);
    const totals = await readScopedTotals(ds.manager, SqlDialect.of(ds), 1);
    expect(totals.groups.find((g) => g.id === counted)?.memberCount).toBe(2);
  });
});
