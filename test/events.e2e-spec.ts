/**
 * Audit and integration events through @nestjs/event-emitter: a subscriber sees each one, with its typed
 * payload, and never a password. (Without EventEmitterModule every other suite runs: the events are optional.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { LDAP_AUTH_EVENTS, LdapSyncService } from '@nest-ldap-auth/ldap-auth';
import { createTestApp, postLogin } from './support/app.js';
import { directoryEnv, directoryInfo, serviceAccountEnv, type DirectoryKind } from './support/env.js';
import {
  createGroup,
  createUser,
  deleteGroup,
  deleteUser,
  groupDn,
  setAccountDisabled,
  setAttributes,
} from './support/directory-admin.js';
import { testApps } from './support/test-app.js';

describe.each(['openldap', 'ad'] as DirectoryKind[])('events against %s', (kind) => {
  const info = () => directoryInfo(kind);
  const tag = kind === 'ad' ? 'a' : 'o';
  const ann = {
    username: `ev-${tag}-ann`,
    password: 'Events-ann-pass1',
    givenName: 'Ann',
    sn: 'E',
    mail: `ann.${tag}@x.test`,
  };
  const ben = {
    username: `ev-${tag}-ben`,
    password: 'Events-ben-pass1',
    givenName: 'Ben',
    sn: 'E',
    mail: `ben.${tag}@x.test`,
  };
  const group = `ev-${tag}-group`;
  const apps = testApps();
  let app: INestApplication;
  let seen: Array<{ event: string; payload: Record<string, unknown> }> = [];
  const of = (event: string) => seen.filter((e) => e.event === event).map((e) => e.payload);

  beforeAll(async () => {
    await createUser(info(), ann);
    await createUser(info(), ben);
    await createGroup(info(), group, [ann.username, ben.username]);
    app = await apps.start(
      'sqlite',
      {
        ...directoryEnv(kind),
        ...serviceAccountEnv(kind),
        LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
        LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
        LDAP_SYNCED_GROUPS: groupDn(info(), group),
        LDAP_SYNC_REMOVED_USERS: 'deactivate',
        LDAP_SYNC_MAX_REMOVALS: '1',
      },
      { imports: [EventEmitterModule.forRoot({ wildcard: false })] },
    );
    app.get(EventEmitter2).onAny((event: string | string[], payload: Record<string, unknown>) => {
      seen.push({ event: String(event), payload });
    });
  });
  beforeEach(() => {
    seen = [];
  });
  afterAll(async () => {
    await deleteGroup(info(), group).catch(() => undefined);
    for (const user of [ann, ben]) await deleteUser(info(), user.username).catch(() => undefined);
  });

  it('login failed: the reason code and text, never the password', async () => {
    await postLogin(app, ` ${ann.username} `, 'Not-her-password1').expect(401);
    expect(of(LDAP_AUTH_EVENTS.loginFailed)).toEqual([
      { username: ann.username, code: 'wrong_credentials', reason: expect.any(String), at: expect.any(Date) },
    ]);
    expect(JSON.stringify(seen)).not.toContain('Not-her-password1');
  });

  it('a first login: user created, group membership changed, login succeeded', async () => {
    const res = await postLogin(app, ann.username, ann.password).expect(200);
    const userId = res.body.user.id as number;
    expect(of(LDAP_AUTH_EVENTS.userCreated)).toEqual([
      { userId, username: ann.username, ldapUuid: expect.any(String), dn: expect.any(String), source: 'login' },
    ]);
    expect(of(LDAP_AUTH_EVENTS.groupMembershipChanged)).toEqual([
      {
        groupId: expect.any(Number),
        groupDn: expect.any(String),
        groupName: group,
        added: [userId],
        removed: [],
        source: 'login',
      },
    ]);
    expect(of(LDAP_AUTH_EVENTS.loginSucceeded)).toEqual([
      { userId, username: ann.username, dn: expect.any(String), at: expect.any(Date) },
    ]);
    expect(seen.map((e) => e.event).indexOf(LDAP_AUTH_EVENTS.loginSucceeded)).toBe(seen.length - 1);
    expect(JSON.stringify(seen)).not.toContain(ann.password);
  });

  it('a returning login with a changed entry: user updated, with the changed columns', async () => {
    await setAttributes(info(), ann.username, { mail: `ann.new.${tag}@x.test` });
    const res = await postLogin(app, ann.username, ann.password).expect(200);
    expect(of(LDAP_AUTH_EVENTS.userUpdated)).toEqual([
      { userId: res.body.user.id, username: ann.username, changed: ['email'], source: 'login' },
    ]);
    expect(of(LDAP_AUTH_EVENTS.userCreated)).toEqual([]);
  });

  it('a sync: started, user deactivated (removed), membership changed, finished with its report', async () => {
    const res = await postLogin(app, ben.username, ben.password).expect(200);
    const benId = res.body.user.id as number;
    await deleteUser(info(), ben.username);
    seen = [];
    const report = await app.get(LdapSyncService).run();
    expect(report.status).toBe('succeeded');
    const names = seen.map((e) => e.event);
    expect(names[0]).toBe(LDAP_AUTH_EVENTS.syncStarted);
    expect(names.at(-1)).toBe(LDAP_AUTH_EVENTS.syncFinished);
    expect(of(LDAP_AUTH_EVENTS.syncStarted)).toEqual([{ runId: report.runId, dryRun: false }]);
    expect(of(LDAP_AUTH_EVENTS.userDeactivated)).toEqual([
      { userId: benId, username: ben.username, reason: 'removed', source: 'sync' },
    ]);
    expect(of(LDAP_AUTH_EVENTS.groupMembershipChanged)).toEqual([
      {
        groupId: expect.any(Number),
        groupDn: expect.any(String),
        groupName: group,
        added: [],
        removed: [benId],
        source: 'sync',
      },
    ]);
    expect(of(LDAP_AUTH_EVENTS.syncFinished)).toEqual([{ report }]);
  });

  if (kind === 'ad') {
    it('a sync: user deactivated (disabled), then reactivated', async () => {
      await setAccountDisabled(info(), ann.username, true);
      await app.get(LdapSyncService).run();
      expect(of(LDAP_AUTH_EVENTS.userDeactivated)).toEqual([
        expect.objectContaining({ username: ann.username, reason: 'disabled', source: 'sync' }),
      ]);
      await setAccountDisabled(info(), ann.username, false);
      seen = [];
      await app.get(LdapSyncService).run();
      expect(of(LDAP_AUTH_EVENTS.userReactivated)).toEqual([
        expect.objectContaining({ username: ann.username, source: 'sync' }),
      ]);
    });
  }

  it('a sync that aborts: started, then aborted with the report and its reason; nothing in between', async () => {
    const empty = await createTestApp(
      {
        ...directoryEnv(kind),
        ...serviceAccountEnv(kind),
        DATABASE_URL: apps.databaseOf(app).url,
        LDAP_AUTH_SEARCH_BASE: info().groupsDn,
      },
      { imports: [EventEmitterModule.forRoot()] },
    );
    const events: string[] = [];
    let aborted: unknown;
    empty.get(EventEmitter2).onAny((event: string | string[], payload: unknown) => {
      events.push(String(event));
      if (event === LDAP_AUTH_EVENTS.syncAborted) aborted = payload;
    });
    try {
      const report = await empty.get(LdapSyncService).run();
      expect(report.status).toBe('aborted');
      expect(events).toEqual([LDAP_AUTH_EVENTS.syncStarted, LDAP_AUTH_EVENTS.syncAborted]);
      expect(aborted).toEqual({ report: expect.objectContaining({ status: 'aborted', reason: expect.any(String) }) });
    } finally {
      await empty.close();
    }
  });
});

describe('user removed (LDAP_SYNC_REMOVED_USERS=delete)', () => {
  const apps = testApps();
  let app: INestApplication;
  const cy = { username: 'ev-del-cy', password: 'Events-cy-pass1', givenName: 'Cy', sn: 'E', mail: 'cy@x.test' };

  beforeAll(async () => {
    await createUser(directoryInfo('openldap'), cy);
    app = await apps.start(
      'sqlite',
      { ...directoryEnv('openldap'), ...serviceAccountEnv('openldap') },
      { imports: [EventEmitterModule.forRoot()] },
    );
  });
  afterAll(async () => {
    await deleteUser(directoryInfo('openldap'), cy.username).catch(() => undefined);
  });

  it('publishes user removed once the delete is committed', async () => {
    const res = await postLogin(app, cy.username, cy.password).expect(200);
    await deleteUser(directoryInfo('openldap'), cy.username);
    const removed: unknown[] = [];
    app.get(EventEmitter2).on(LDAP_AUTH_EVENTS.userRemoved, (payload: unknown) => removed.push(payload));
    await app.get(LdapSyncService).run();
    expect(removed).toEqual([{ userId: res.body.user.id, username: cy.username, source: 'sync' }]);
  });
});
