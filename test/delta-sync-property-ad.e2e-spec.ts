/**
 * The delta sync equals the full sync on Samba AD, as a property (see delta-sync-property.e2e-spec.ts and
 * support/delta-property.ts): random sequences of adds, deletes, renames, moves in and out of the search base,
 * attribute changes, disabling and enabling, membership and nesting changes and logins, with a delta (read by
 * uSNChanged and a presence scan) checked after each. Fewer sequences than on slapd: Samba writes are slower.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Attribute, type Client } from 'ldapts';
import { createTestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryInfo } from './support/env.js';
import type { SambaInfo } from './support/samba.js';
import { adminClient, adPassword, escapeDnValue } from './support/directory-admin.js';
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

const NAMES = ['dap-p0', 'dap-p1', 'dap-p2', 'dap-p3', 'dap-p4', 'dap-p5'];
const GROUPS = ['dap-ga', 'dap-gb', 'dap-gc'];
/** Two users who never change: the app always has LDAP users (a read that leaves none is refused). */
const ANCHORS = ['dap-anchor1', 'dap-anchor2'];
/**
 * What Samba answers to a change that cannot apply in the current state (not a failure of the test):
 * noSuchAttribute, constraintViolation, attributeOrValueExists, noSuchObject, unwillingToPerform,
 * objectClassViolation, notAllowedOnRDN, entryAlreadyExists.
 */
const REFUSALS = [16, 19, 20, 32, 53, 65, 67, 68];
const RUNS = Number(process.env.FC_RUNS_AD ?? 100);
/** userAccountControl: NORMAL_ACCOUNT, with ACCOUNTDISABLE. */
const ENABLED = '512';
const DISABLED = '514';

describe('delta sync equals the full sync on Samba AD (uSNChanged)', () => {
  let samba: SambaInfo;
  let db: TestDatabase;
  let app: INestApplication;
  let admin: Client;
  const base = () => `OU=dap-people,${samba.baseDn}`;
  const ou = (p: Place) =>
    p === 'people' ? base() : p === 'eng' ? `OU=dap-eng,${base()}` : `OU=dap-alumni,${samba.baseDn}`;
  const rdnOf = (user: string) => `CN=${escapeDnValue(user)}`;
  const dnOf = (user: string, p: Place) => `${rdnOf(user)},${ou(p)}`;
  const groupDn = (cn: string) => `CN=${cn},${samba.groupsDn}`;

  beforeAll(async () => {
    samba = directoryInfo('ad') as SambaInfo;
    admin = await adminClient(samba);
    for (const dn of [base(), ou('eng'), ou('alumni')]) {
      await admin.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: dn.slice(3, dn.indexOf(',')) });
    }
    // groupType: global security group.
    const groupType = String(0x2 - 0x80000000);
    for (const cn of GROUPS)
      await admin.add(groupDn(cn), { objectClass: ['top', 'group'], cn, sAMAccountName: cn, groupType });
    await admin.modify(groupDn('dap-gb'), change('add', 'member', groupDn('dap-gc')));
    for (const user of ANCHORS) await createEntry(user, 'people');
    db = await createTestDatabase('sqlite');
    app = await createTestApp({
      ...deltaSyncEnv(samba, db.url),
      LDAP_AUTH_SEARCH_BASE: base(),
      LDAP_NESTED_GROUPS: 'true',
      LDAP_SYNCED_GROUPS: [groupDn('dap-ga'), groupDn('dap-gb')].join(':'),
    });
    await logInAll(app, ANCHORS.map(propertyLogin));
  }, 60_000);

  afterAll(async () => {
    await admin?.unbind().catch(() => undefined);
    await app?.close();
    await db?.drop();
  });

  async function createEntry(user: string, p: Place): Promise<void> {
    await admin.add(dnOf(user, p), [
      new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
      new Attribute({ type: 'sAMAccountName', values: [user] }),
      new Attribute({ type: 'userPrincipalName', values: [`${user}@${samba.realm}`] }),
      new Attribute({ type: 'sn', values: ['Prop'] }),
      new Attribute({ type: 'mail', values: [`${user}@prop.example.com`] }),
      new Attribute({ type: 'unicodePwd', values: [adPassword(propertyPassword(user))] }),
      new Attribute({ type: 'userAccountControl', values: [ENABLED] }),
    ]);
  }

  const world = propertyWorld(() => app, {
    admin: () => admin,
    dnOf,
    rdnOf,
    renamed: (to) => [
      change('replace', 'sAMAccountName', to),
      change('replace', 'userPrincipalName', `${to}@${samba.realm}`),
    ],
    groupDn,
    nesting: ['dap-ga', 'dap-gc'],
    refusals: REFUSALS,
    createEntry,
    disable: (disabled) => change('replace', 'userAccountControl', disabled ? DISABLED : ENABLED),
    async uuids() {
      const { searchEntries } = await admin.search(base(), {
        scope: 'sub',
        filter: '(&(objectClass=user)(objectCategory=person))',
        attributes: ['objectGUID'],
        explicitBufferAttributes: ['objectGUID'],
      });
      return new Set(searchEntries.map((e) => guidText(e.objectGUID as Buffer)));
    },
  });

  it(`holds over ${RUNS} random sequences of changes`, async () => {
    await assertDeltaEqualsFull(world, actions(NAMES, GROUPS, true), RUNS, 8);
  }, 900_000);
});

/** objectGUID as AD writes it: the first three fields little-endian. */
function guidText(bytes: Buffer): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = [...bytes.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join('-');
}
