import { describe, expect, it } from '@jest/globals';
import { BerReader, BerWriter } from 'ldapts';
import {
  ContentSyncCollector,
  ContentSyncProtocolError,
  ContentSyncRefreshRequiredError,
  SYNC_DONE_OID,
  SYNC_INFO_OID,
  SYNC_REQUEST_OID,
  SYNC_STATE_OID,
  SyncRequestControl,
} from './content-sync.js';
import { decodeLdapMessage, LdapResponseOp } from './ldap-message-decoder.js';
import { searchEntry } from '../../../../../test/support/hostile-ldap-server.js';
import type { Entry } from '../../model/directory-user.js';

const UUID_A = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const UUID_B = '00112233-4455-6677-8899-aabbccddeeff';
const bytes = (uuid: string) => Buffer.from(uuid.replace(/-/g, ''), 'hex');

function ber(build: (w: BerWriter) => void): Buffer {
  const w = new BerWriter();
  build(w);
  return w.buffer;
}

const syncState = (state: number, uuid: Buffer, cookie?: string) =>
  ber((w) => {
    w.startSequence();
    w.writeEnumeration(state);
    w.writeBuffer(uuid, 0x04);
    if (cookie !== undefined) w.writeString(cookie);
    w.endSequence();
  });

const syncDone = (cookie?: string, refreshDeletes?: boolean) =>
  ber((w) => {
    w.startSequence();
    if (cookie !== undefined) w.writeString(cookie);
    if (refreshDeletes !== undefined) w.writeBoolean(refreshDeletes);
    w.endSequence();
  });

const syncIdSet = (uuids: Buffer[], refreshDeletes?: boolean, cookie?: string) =>
  ber((w) => {
    w.startSequence(0xa3);
    if (cookie !== undefined) w.writeString(cookie);
    if (refreshDeletes !== undefined) w.writeBoolean(refreshDeletes);
    w.startSequence(0x31);
    for (const uuid of uuids) w.writeBuffer(uuid, 0x04);
    w.endSequence();
    w.endSequence();
  });

const entry = (dn: string): Entry => ({ dn, uid: dn.slice(4) });
const state = (value: Buffer) => [{ type: SYNC_STATE_OID, value }];
const done = (value: Buffer) => [{ type: SYNC_DONE_OID, value }];

describe('SyncRequestControl', () => {
  it('asks for refreshOnly, critical, with the cookie when there is one', () => {
    const written = (cookie?: string) => {
      const w = new BerWriter();
      new SyncRequestControl(cookie).write(w);
      const r = new BerReader(w.buffer);
      r.readSequence();
      const type = r.readString();
      const critical = r.readBoolean();
      const value = new BerReader(r.readString(0x04, true) ?? Buffer.alloc(0));
      value.readSequence();
      return { type, critical, mode: value.readEnumeration(), cookie: value.readString(0x04, true) };
    };
    expect(written(undefined)).toEqual({ type: SYNC_REQUEST_OID, critical: true, mode: 1, cookie: null });
    expect(written('rid=000,csn=1')).toMatchObject({ cookie: Buffer.from('rid=000,csn=1') });
  });
});

describe('decodeLdapMessage and content sync', () => {
  it('keeps the controls of a search entry, and reads a Sync Info intermediate response', () => {
    const plain = searchEntry(2, 'uid=a', [['uid', ['a']]]);
    expect(decodeLdapMessage(plain, new Set())).not.toHaveProperty('controls');
    // The same entry with a Controls [0] element after it.
    const control = ber((w) => {
      w.startSequence(0xa0);
      w.startSequence();
      w.writeString(SYNC_STATE_OID);
      w.writeBuffer(syncState(1, bytes(UUID_A)), 0x04);
      w.endSequence();
      w.endSequence();
    });
    const withControl = Buffer.concat([
      Buffer.from([0x30, plain.length - 2 + control.length]),
      plain.subarray(2),
      control,
    ]);
    expect(decodeLdapMessage(withControl, new Set())).toMatchObject({
      op: LdapResponseOp.searchEntry,
      entry: { dn: 'uid=a' },
      controls: [{ type: SYNC_STATE_OID, value: syncState(1, bytes(UUID_A)) }],
    });
    const intermediate = ber((w) => {
      w.startSequence();
      w.writeInt(2);
      w.startSequence(LdapResponseOp.intermediate);
      w.writeString(SYNC_INFO_OID, 0x80);
      w.writeBuffer(syncIdSet([bytes(UUID_B)]), 0x81);
      w.endSequence();
      w.endSequence();
    });
    expect(decodeLdapMessage(intermediate, new Set())).toEqual({
      messageId: 2,
      op: LdapResponseOp.intermediate,
      responseName: SYNC_INFO_OID,
      responseValue: syncIdSet([bytes(UUID_B)]),
    });
  });
});

describe('ContentSyncCollector', () => {
  it('gathers changed entries with their uuids, present and deleted uuids, and the last cookie', () => {
    const c = new ContentSyncCollector('old');
    c.entry(entry('uid=a'), state(syncState(1, bytes(UUID_A))));
    c.intermediate(SYNC_INFO_OID, syncIdSet([bytes(UUID_B)], false, 'mid'));
    expect(c.done(done(syncDone('new')))).toEqual({
      cookie: 'new',
      changed: [{ uuid: UUID_A, entry: entry('uid=a') }],
      present: new Set([UUID_B]),
      deleted: new Set(),
    });
  });

  it('reports a delete phase (refreshDeletes TRUE) without a present set, and keeps the old cookie when none came', () => {
    const c = new ContentSyncCollector('old');
    c.intermediate(SYNC_INFO_OID, syncIdSet([bytes(UUID_A)], true));
    c.entry(entry('uid=b'), state(syncState(3, bytes(UUID_B))));
    expect(c.done(done(syncDone(undefined, true)))).toEqual({
      cookie: 'old',
      changed: [],
      present: undefined,
      deleted: new Set([UUID_A, UUID_B]),
    });
  });

  it('takes a newcookie Sync Info, and present entries as present', () => {
    const c = new ContentSyncCollector(undefined);
    c.intermediate(SYNC_INFO_OID, Buffer.concat([Buffer.from([0x80, 3]), Buffer.from('abc')]));
    c.entry({ dn: 'uid=p' }, state(syncState(0, bytes(UUID_A))));
    expect(c.done(done(syncDone()))).toMatchObject({ cookie: 'abc', present: new Set([UUID_A]), changed: [] });
  });

  it('refuses what breaks RFC 4533', () => {
    const refused = (act: (c: ContentSyncCollector) => void) => () => act(new ContentSyncCollector('x'));
    // An entry without a Sync State control, or with two.
    expect(refused((c) => c.entry(entry('uid=a'), undefined))).toThrow(ContentSyncProtocolError);
    const twice = [...state(syncState(1, bytes(UUID_A))), ...state(syncState(1, bytes(UUID_A)))];
    expect(refused((c) => c.entry(entry('uid=a'), twice))).toThrow(/2 .* controls/);
    // A uuid of 15 bytes, an unknown state, bytes after the value, a truncated value.
    expect(refused((c) => c.entry(entry('uid=a'), state(syncState(1, Buffer.alloc(15)))))).toThrow(/15 bytes/);
    expect(refused((c) => c.entry(entry('uid=a'), state(syncState(7, bytes(UUID_A)))))).toThrow(/unknown sync state/);
    const trailing = Buffer.concat([syncState(1, bytes(UUID_A)), Buffer.from([0x00])]);
    expect(refused((c) => c.entry(entry('uid=a'), state(trailing)))).toThrow(/malformed/);
    expect(refused((c) => c.entry(entry('uid=a'), state(syncState(1, bytes(UUID_A)).subarray(0, 10))))).toThrow(
      /malformed/,
    );
    // Intermediate responses that are not Sync Info, or an unknown choice.
    expect(refused((c) => c.intermediate('1.2.3', Buffer.alloc(0)))).toThrow(/no Sync Info/);
    expect(refused((c) => c.intermediate(SYNC_INFO_OID, Buffer.from([0xa5, 0x00])))).toThrow(/unknown choice/);
    // A result without a Sync Done control.
    expect(refused((c) => c.done([]))).toThrow(/0 1.3.6.1.4.1.4203.1.9.1.3 controls/);
  });

  it('calls an empty cookie in answer to a cookie a refresh required (slapd did not take the cookie)', () => {
    const c = new ContentSyncCollector('garbage');
    c.entry(entry('uid=a'), state(syncState(1, bytes(UUID_A))));
    expect(() => c.done(done(syncDone('', true)))).toThrow(ContentSyncRefreshRequiredError);
    expect(new ContentSyncCollector(undefined).done(done(syncDone('', true)))).toMatchObject({ cookie: '' });
  });
});
