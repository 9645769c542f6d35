/**
 * What the delta sync's property tests share (test/delta-sync-property*.e2e-spec.ts): the random changes, the
 * run of a property over them, and the check after every delta: the app's LDAP users are exactly those it had
 * whose entries are still in the search base, and a full sync finds nothing left to change. Each server's test
 * says how a change is made on it. fast-check prints the seed and the shrunk sequence of a failure; FC_SEED /
 * FC_RUNS reproduce or widen a run.
 */
import { expect } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { Attribute, Change, type Client } from 'ldapts';
import { LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, postLogin } from './app.js';
import { expectFullSyncFindsNothing } from './delta-sync.js';

export type Place = 'people' | 'eng' | 'alumni';

export type Action =
  | { kind: 'create'; name: string; place: Place }
  | { kind: 'delete'; name: string }
  | { kind: 'mail'; name: string; value: number }
  | { kind: 'rename'; name: string; to: string }
  | { kind: 'move'; name: string; place: Place }
  | { kind: 'member'; name: string; group: string; add: boolean }
  | { kind: 'nest'; add: boolean }
  | { kind: 'disable'; name: string; disabled: boolean }
  | { kind: 'login'; name: string }
  | { kind: 'delta' };

/** Random changes to users `names` and groups `groups`; disabling accounts only where the server has it (AD). */
export function actions(names: string[], groups: string[], withDisable: boolean): fc.Arbitrary<Action> {
  const name = fc.constantFrom(...names);
  const place = fc.constantFrom<Place>('people', 'eng', 'alumni');
  const kinds: Array<fc.Arbitrary<Action>> = [
    fc.record({ kind: fc.constant('create' as const), name, place }),
    fc.record({ kind: fc.constant('delete' as const), name }),
    fc.record({ kind: fc.constant('mail' as const), name, value: fc.nat(3) }),
    fc.record({ kind: fc.constant('rename' as const), name, to: name }),
    fc.record({ kind: fc.constant('move' as const), name, place }),
    fc.record({ kind: fc.constant('member' as const), name, group: fc.constantFrom(...groups), add: fc.boolean() }),
    fc.record({ kind: fc.constant('nest' as const), add: fc.boolean() }),
    fc.record({ kind: fc.constant('login' as const), name }),
    fc.constant({ kind: 'delta' as const }),
  ];
  if (withDisable) kinds.push(fc.record({ kind: fc.constant('disable' as const), name, disabled: fc.boolean() }));
  return fc.oneof(...kinds);
}

export interface PropertyWorld {
  app: INestApplication;
  /** Applies one change to the directory (a `delta` action runs checkDelta). */
  apply(action: Action): Promise<void>;
  /** The stable ids of the user entries now in the search base, as the app stores them. */
  directoryUuids(): Promise<Set<string>>;
  /** What every delta after the first must report (where nothing in the setup makes a delta read everything). */
  deltaMode?: 'delta';
}

/** The password of a property test's user, on every server. */
export const propertyPassword = (user: string) => `Prop-${user}-pass1`;
/** A property test's user as logInAll takes it. */
export const propertyLogin = (user: string) => ({ username: user, password: propertyPassword(user) });

/** One server's side of the property: how its entries are named, made and changed where servers differ. */
export interface PropertyDirectory {
  /** The server's admin connection (a function: the suite opens it in beforeAll). */
  admin(): Client;
  dnOf(user: string, place: Place): string;
  /** The RDN a user's entry has (and gets, when renamed). */
  rdnOf(user: string): string;
  /** What makes an entry renamed to `to` called `to` only: the old name stays in its attributes otherwise. */
  renamed(to: string): Change[];
  groupDn(cn: string): string;
  /** The groups a `nest` action puts in and takes out of each other: [outer, inner]. */
  nesting: [string, string];
  /** What the server answers to a change that cannot apply in the current state (result codes). */
  refusals: readonly number[];
  /** Adds the user's entry at `place`. */
  createEntry(user: string, place: Place): Promise<void>;
  /** The change that disables or enables an account, where the server has it (AD). */
  disable?(disabled: boolean): Change;
  /** The stable ids of the user entries now in the search base, as the app stores them. */
  uuids(): Promise<Set<string>>;
}

/** The world of a property test on `directory`, with the app `app()` returns. */
export function propertyWorld(app: () => INestApplication, directory: PropertyDirectory): PropertyWorld {
  /** Where each user entry is now (absent: no entry). */
  const where = new Map<string, Place>();
  const world: PropertyWorld = {
    get app() {
      return app();
    },
    apply: (action) => applyAction(world, directory, where, action),
    directoryUuids: () => directory.uuids(),
    deltaMode: 'delta',
  };
  return world;
}

/** Applies one change; one the directory refuses (a name taken, a member already there) changes nothing. */
async function applyAction(
  world: PropertyWorld,
  directory: PropertyDirectory,
  where: Map<string, Place>,
  a: Action,
): Promise<void> {
  const { dnOf, groupDn } = directory;
  const admin = directory.admin();
  const at = 'name' in a ? where.get(a.name) : undefined;
  try {
    switch (a.kind) {
      case 'create':
        if (!at) {
          await directory.createEntry(a.name, a.place);
          where.set(a.name, a.place);
        }
        return;
      case 'delete':
        if (at) await admin.del(dnOf(a.name, at));
        where.delete(a.name);
        return;
      case 'mail':
        if (at)
          await admin.modify(dnOf(a.name, at), change('replace', 'mail', `${a.name}.${a.value}@prop.example.com`));
        return;
      case 'rename':
        if (at && !where.has(a.to)) {
          await admin.modifyDN(dnOf(a.name, at), directory.rdnOf(a.to));
          where.delete(a.name);
          where.set(a.to, at);
          await admin.modify(dnOf(a.to, at), directory.renamed(a.to));
        }
        return;
      case 'move':
        if (at && at !== a.place) {
          await admin.modifyDN(dnOf(a.name, at), dnOf(a.name, a.place));
          where.set(a.name, a.place);
        }
        return;
      case 'member':
        if (at) await admin.modify(groupDn(a.group), change(a.add ? 'add' : 'delete', 'member', dnOf(a.name, at)));
        return;
      case 'nest': {
        const [outer, inner] = directory.nesting;
        await admin.modify(groupDn(outer), change(a.add ? 'add' : 'delete', 'member', groupDn(inner)));
        return;
      }
      case 'disable':
        if (at && directory.disable) await admin.modify(dnOf(a.name, at), directory.disable(a.disabled));
        return;
      case 'login':
        if (at && at !== 'alumni') await postLogin(world.app, a.name, propertyPassword(a.name));
        return;
      case 'delta':
        await checkDelta(world);
    }
  } catch (error) {
    if (!isRefusal(error, directory.refusals)) throw error;
  }
}

/** A delta; then the rows are those it had whose entries are in the base, and a full sync has nothing to do. */
async function checkDelta(world: PropertyWorld): Promise<void> {
  const before = await rowUuids(world.app);
  const inBase = await world.directoryUuids();
  const report = await world.app.get(LdapSyncService).run({ delta: true });
  expect(report.status).toBe('succeeded');
  if (world.deltaMode) expect({ mode: report.mode, why: report.modeReason }).toEqual({ mode: world.deltaMode });
  expect(await rowUuids(world.app)).toEqual(before.filter((uuid) => inBase.has(uuid)));
  await expectFullSyncFindsNothing(world.app, report);
}

/** The property over `runs` random sequences of changes, each followed by a delta and its check. */
export async function assertDeltaEqualsFull(
  world: PropertyWorld,
  action: fc.Arbitrary<Action>,
  runs: number,
  maxLength = 12,
): Promise<void> {
  await world.app.get(LdapSyncService).run({ delta: true });
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength }), async (sequence) => {
      for (const a of sequence) await world.apply(a);
      await checkDelta(world);
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
}

async function rowUuids(app: INestApplication): Promise<string[]> {
  const rows = await appDataSource(app).query<Array<{ ldap_uuid: string }>>(
    'SELECT ldap_uuid FROM users WHERE ldap_uuid IS NOT NULL ORDER BY ldap_uuid',
  );
  return rows.map((r) => r.ldap_uuid);
}

export function change(operation: 'add' | 'delete' | 'replace', type: string, value: string): Change {
  return new Change({ operation, modification: new Attribute({ type, values: [value] }) });
}

/** Whether `error` is the server refusing a change that cannot apply in the current state (result `codes`). */
function isRefusal(error: unknown, codes: readonly number[]): boolean {
  const code = (error as { code?: number }).code;
  return code !== undefined && codes.includes(code);
}
