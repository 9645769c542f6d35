/**
 * The delta sync equals the full sync, as a property: random sequences of directory changes (add, delete, rename,
 * move between OUs in and out of the search base, attribute changes, membership adds and removals, nesting
 * changes) and logins are applied to a real slapd with syncprov (and without it: modifyTimestamp), with deltas run
 * between them, each of which must be a delta. After every delta: the app's LDAP users are exactly those it had
 * whose entries are still in the search base, and a full sync finds nothing left to change (fields, groups,
 * memberships). The shared parts (and FC_SEED / FC_RUNS) are in support/delta-property.ts; Samba AD's run is
 * delta-sync-property-ad.e2e-spec.ts.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { Client } from 'ldapts';
import { createTestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { type SlapdHandle, startSlapd } from './support/slapd.js';
import { adminClient, sshaPassword } from './support/directory-admin.js';
import {
  actions,
  assertDeltaEqualsFull,
  change,
  type Place,
  propertyLogin,
  propertyPassword,
  propertyWorld,
} from './support/delta-property.js';
import { deltaSyncEnv, logInAll } from './support/delta-sync.js';

const NAMES = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
const GROUPS = ['ga', 'gb', 'gc'];
/** Two users who never change: the app always has LDAP users (a read that leaves none is refused). */
const ANCHORS = ['anchor1', 'anchor2'];
/**
 * What slapd answers to a change that cannot apply in the current state (not a failure of the test):
 * noSuchAttribute, typeOrValueExists, noSuchObject, objectClassViolation, notAllowedOnRDN, entryAlreadyExists.
 */
const REFUSALS = [16, 20, 32, 65, 67, 68];

const RUNS = Number(process.env.FC_RUNS ?? 300);

describe.each([
  ['present', RUNS, 'nested groups', 'sqlite'],
  ['sessionlog', Math.ceil(RUNS / 3), 'nested groups', 'sqlite'],
  // No syncprov: modifyTimestamp and a scan of the entryUUIDs.
  ['none', Math.ceil(RUNS / 3), 'nested groups', 'sqlite'],
  // Without nesting, a delta reads and plans only the rows its changes concern (sync/delta-scope.ts).
  ['present', Math.ceil(RUNS / 2), 'no nesting', 'postgres'],
  ['sessionlog', Math.ceil(RUNS / 2), 'no nesting', 'sqlite'],
  ['none', Math.ceil(RUNS / 3), 'no nesting', 'postgres'],
] as const)(
  'delta sync equals the full sync on slapd (content sync: %s, %i runs, %s, %s)',
  (contentSync, runs, nesting, database) => {
    let slapd: SlapdHandle;
    let db: TestDatabase;
    let app: INestApplication;
    let admin: Client;
    const ou = (p: Place) =>
      p === 'people' ? slapd.peopleDn : p === 'eng' ? `ou=eng,${slapd.peopleDn}` : `ou=alumni,${slapd.baseDn}`;
    const rdnOf = (user: string) => `uid=${user}`;
    const dnOf = (user: string, p: Place) => `${rdnOf(user)},${ou(p)}`;
    const groupDn = (cn: string) => `cn=${cn},${slapd.groupsDn}`;

    beforeAll(async () => {
      slapd = await startSlapd({ contentSync });
      admin = await adminClient(slapd);
      await admin.add(`ou=eng,${slapd.peopleDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'eng' });
      await admin.add(`ou=alumni,${slapd.baseDn}`, { objectClass: ['top', 'organizationalUnit'], ou: 'alumni' });
      for (const cn of GROUPS) {
        await admin.add(groupDn(cn), { objectClass: ['top', 'groupOfNames'], cn, member: [slapd.baseDn] });
      }
      await admin.modify(groupDn('gb'), change('add', 'member', groupDn('gc')));
      for (const user of ANCHORS) await createEntry(user, 'people');
      db = await createTestDatabase(database);
      app = await createTestApp({
        ...deltaSyncEnv(slapd, db.url),
        LDAP_NESTED_GROUPS: String(nesting === 'nested groups'),
        LDAP_SYNCED_GROUPS: [groupDn('ga'), groupDn('gb')].join(':'),
      });
      await logInAll(app, ANCHORS.map(propertyLogin));
    }, 60_000);

    afterAll(async () => {
      await admin?.unbind().catch(() => undefined);
      await app?.close();
      await db?.drop();
      await slapd?.stop();
    });

    async function createEntry(user: string, p: Place): Promise<void> {
      await admin.add(dnOf(user, p), {
        objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
        uid: user,
        cn: user,
        sn: 'Prop',
        mail: `${user}@prop.example.com`,
        userPassword: sshaPassword(propertyPassword(user)),
      });
    }

    const world = propertyWorld(() => app, {
      admin: () => admin,
      dnOf,
      rdnOf,
      renamed: (to) => [change('replace', 'uid', to)],
      groupDn,
      nesting: ['ga', 'gc'],
      refusals: REFUSALS,
      createEntry,
      async uuids() {
        const { searchEntries } = await admin.search(slapd.peopleDn, {
          scope: 'sub',
          filter: '(objectClass=inetOrgPerson)',
          attributes: ['entryUUID'],
        });
        return new Set(searchEntries.map((e) => String(e.entryUUID).toLowerCase()));
      },
    });

    it(`holds over ${runs} random sequences of changes`, async () => {
      await assertDeltaEqualsFull(world, actions(NAMES, GROUPS, false), runs);
    }, 600_000);
  },
);
