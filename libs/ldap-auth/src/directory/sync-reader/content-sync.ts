import { BerWriter, Control } from 'ldapts';
import type { Entry } from '../../model/directory-user.js';
import { BerCursor, LdapDecodeError } from './ber-cursor.js';
import type { DecodedControl } from './ldap-message-decoder.js';

/**
 * RFC 4533 LDAP Content Synchronization, refreshOnly: the request control, and the collection of what a
 * refresh answers (Sync State controls on entries, Sync Info intermediate messages, the Sync Done control on
 * the result) into one ContentSyncRefresh. OpenLDAP's syncprov overlay implements it.
 */

export const SYNC_REQUEST_OID = '1.3.6.1.4.1.4203.1.9.1.1';
export const SYNC_STATE_OID = '1.3.6.1.4.1.4203.1.9.1.2';
export const SYNC_DONE_OID = '1.3.6.1.4.1.4203.1.9.1.3';
export const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';
/** e-syncRefreshRequired: the server cannot refresh from this cookie. */
export const SYNC_REFRESH_REQUIRED = 4096;

export interface ContentSyncRefresh {
  /**
   * The cookie for the next refresh: the last one the server sent (Sync Done, Sync Info, Sync State), else the
   * one this refresh started from (RFC 4533: an absent cookie leaves the client's as it was; slapd sends none
   * when nothing changed). Undefined only when neither exists.
   */
  cookie: string | undefined;
  /** Entries added or modified since the cookie (every entry when there was no cookie), with the attributes asked for, each with its entryUUID (lower-case text, 8-4-4-4-12) from the Sync State control. */
  changed: Array<{ uuid: string; entry: Entry }>;
  /** Present phase happened: the uuids the server said are unchanged and still present (syncState present entries and syncIdSet with refreshDeletes FALSE). Undefined when the server used only the delete phase. When defined, anything the client knew that is neither here nor in `changed` is gone. */
  present: Set<string> | undefined;
  /** Delete phase: uuids the server said were deleted (syncState delete entries, syncIdSet with refreshDeletes TRUE). */
  deleted: Set<string>;
}

/** The server answered e-syncRefreshRequired (4096): the cookie is too old; start again without one. */
export class ContentSyncRefreshRequiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentSyncRefreshRequiredError';
  }
}

/** The server refused the Sync Request control (unavailableCriticalExtension): it has no content synchronisation. */
export class ContentSyncUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentSyncUnavailableError';
  }
}

/** The server broke RFC 4533 (a missing or malformed control, an unknown state): the refresh is not usable. */
export class ContentSyncProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContentSyncProtocolError';
  }
}

/**
 * Sync Request Control, critical (a server without content synchronisation must refuse the search rather than
 * answer it as a plain search): syncRequestValue ::= SEQUENCE { mode ENUMERATED { refreshOnly (1),
 * refreshAndPersist (3) }, cookie OCTET STRING OPTIONAL, reloadHint BOOLEAN DEFAULT FALSE (left out) }.
 */
export class SyncRequestControl extends Control {
  constructor(
    private readonly cookie: string | undefined,
    private readonly mode: 'refreshOnly' | 'refreshAndPersist' = 'refreshOnly',
  ) {
    super(SYNC_REQUEST_OID, { critical: true });
  }

  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeEnumeration(this.mode === 'refreshOnly' ? 1 : 3);
    if (this.cookie !== undefined) value.writeBuffer(Buffer.from(this.cookie, 'latin1'), 0x04);
    value.endSequence();
    writer.writeBuffer(value.buffer, 0x04);
  }
}

/** Cookies are opaque bytes; latin1 maps each byte to one character and back, whatever the server put in. */
function cookieText(bytes: Buffer): string {
  return bytes.toString('latin1');
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** Where uuidText writes: one string per syncUUID, where slicing a hex string made seven (a present phase has 100,000s). */
const UUID_TEXT = Buffer.alloc(36);

/**
 * An entryUUID (RFC 4530: 16 octets, `buf` from `start` to `end`) as lower-case 8-4-4-4-12 text, the form the
 * entryUUID attribute has.
 */
export function uuidText(buf: Buffer, start = 0, end = buf.length): string {
  if (end - start !== 16) throw new ContentSyncProtocolError(`a syncUUID of ${end - start} bytes, not 16`);
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) UUID_TEXT[at++] = 0x2d;
    const byte = buf[start + i];
    UUID_TEXT[at++] = HEX_DIGITS[byte >> 4];
    UUID_TEXT[at++] = HEX_DIGITS[byte & 15];
  }
  return UUID_TEXT.toString('latin1', 0, 36);
}

/** Whether a plain search's entry carries a Sync State control (which only a Sync Request may bring). */
export function hasSyncState(controls: readonly DecodedControl[] | undefined): boolean {
  return !!controls?.some((c) => c.type === SYNC_STATE_OID);
}

function onlyValue(controls: readonly DecodedControl[] | undefined, oid: string, where: string): Buffer {
  const found = (controls ?? []).filter((c) => c.type === oid);
  if (found.length !== 1) throw new ContentSyncProtocolError(`${where} has ${found.length} ${oid} controls, not one`);
  const { value } = found[0];
  if (!value) throw new ContentSyncProtocolError(`${where} has a ${oid} control without a value`);
  return value;
}

/** Decodes one control or message value completely; anything malformed is a protocol error. */
function decode<T>(value: Buffer, what: string, read: (r: BerCursor) => T): T {
  const r = new BerCursor(value, 0, value.length);
  try {
    const result = read(r);
    if (r.pos !== r.end) throw new LdapDecodeError('bytes after its end');
    return result;
  } catch (error) {
    if (!(error instanceof LdapDecodeError)) throw error;
    throw new ContentSyncProtocolError(`a malformed ${what}: ${error.message}`);
  }
}

/** syncStateValue's state ENUMERATED. */
const SyncState = { present: 0, add: 1, modify: 2, delete: 3 } as const;

/**
 * Gathers one refresh's answers in the order they arrive; a later word on an entry replaces an earlier one.
 * Whether a present phase happened decides what `present` means: the RFC's present phase lists every
 * unchanged entry, so whatever it does not list is gone.
 */
export class ContentSyncCollector {
  private readonly changed = new Map<string, Entry>();
  private readonly present = new Set<string>();
  private readonly deleted = new Set<string>();
  private presentPhase = false;
  private cookie: string | undefined;

  /** `requestCookie`: the cookie the refresh was asked from (none: an initial refresh). */
  constructor(private readonly requestCookie: string | undefined) {
    this.cookie = requestCookie;
  }

  /** A search entry of the refresh, with its controls. */
  entry(entry: Entry, controls: readonly DecodedControl[] | undefined): void {
    const where = `the entry ${entry.dn}`;
    const value = onlyValue(controls, SYNC_STATE_OID, where);
    const { state, uuid, cookie } = decode(value, `Sync State control on ${where}`, (r) => {
      const end = r.enter(0x30);
      const state = r.readInteger(0x0a);
      const uuid = r.readWith(0x04, uuidText);
      const cookie = r.pos < end ? cookieText(r.readBytes(0x04)) : undefined;
      return { state, uuid, cookie };
    });
    if (state === SyncState.present) this.mark(uuid, false);
    else if (state === SyncState.delete) this.mark(uuid, true);
    else if (state === SyncState.add || state === SyncState.modify) {
      this.present.delete(uuid);
      this.deleted.delete(uuid);
      this.changed.set(uuid, entry);
    } else throw new ContentSyncProtocolError(`${where} has the unknown sync state ${state}`);
    if (cookie !== undefined) this.cookie = cookie;
  }

  /** An intermediate response of the refresh: only Sync Info Messages belong to one. */
  intermediate(name: string | undefined, value: Buffer | undefined): void {
    if (name !== SYNC_INFO_OID || !value) {
      throw new ContentSyncProtocolError(`an intermediate response ${name ?? '(unnamed)'} that is no Sync Info`);
    }
    decode(value, 'Sync Info message', (r) => {
      const choice = r.peekTag();
      if (choice === 0x80) {
        this.cookie = cookieText(r.readBytes(0x80));
        return;
      }
      if (choice !== 0xa1 && choice !== 0xa2 && choice !== 0xa3) {
        throw new LdapDecodeError(`unknown choice 0x${choice.toString(16)}`);
      }
      const end = r.enter(choice);
      if (r.pos < end && r.peekTag() === 0x04) this.cookie = cookieText(r.readBytes(0x04));
      // refreshDelete [1] / refreshPresent [2]: the end of a phase (refreshDone, DEFAULT TRUE, changes nothing here).
      if (choice !== 0xa3) {
        if (r.pos < end) r.readBoolean();
        if (choice === 0xa2) this.presentPhase = true;
        return;
      }
      const deletes = r.pos < end && r.peekTag() === 0x01 ? r.readBoolean() : false;
      const setEnd = r.enter(0x31);
      while (r.pos < setEnd) this.mark(r.readWith(0x04, uuidText), deletes);
      if (r.pos !== end) throw new LdapDecodeError('a syncIdSet with elements after its syncUUIDs');
    });
  }

  /** The Sync Done control of the refresh's (successful) result: the refresh is complete. */
  done(controls: readonly DecodedControl[]): ContentSyncRefresh {
    const value = onlyValue(controls, SYNC_DONE_OID, 'the search result');
    const { cookie, refreshDeletes } = decode(value, 'Sync Done control', (r) => {
      const end = r.enter(0x30);
      const cookie = r.pos < end && r.peekTag() === 0x04 ? cookieText(r.readBytes(0x04)) : undefined;
      const refreshDeletes = r.pos < end ? r.readBoolean() : false;
      if (r.pos !== end) throw new LdapDecodeError('a syncDoneValue with unknown elements');
      return { cookie, refreshDeletes };
    });
    if (cookie !== undefined) this.cookie = cookie;
    // slapd answers a cookie it cannot parse with every entry as an add, a delete phase that lists nothing and an
    // empty cookie: what was deleted since would never be seen. An empty cookie resumes nothing: start over.
    if (this.requestCookie !== undefined && this.cookie === '') {
      throw new ContentSyncRefreshRequiredError('the server did not take the cookie (it answered with an empty one)');
    }
    // refreshDeletes FALSE: the refresh ended in (or was only) a present phase.
    if (!refreshDeletes) this.presentPhase = true;
    return {
      cookie: this.cookie,
      changed: [...this.changed].map(([uuid, entry]) => ({ uuid, entry })),
      present: this.presentPhase ? this.present : undefined,
      deleted: this.deleted,
    };
  }

  private mark(uuid: string, deleted: boolean): void {
    this.changed.delete(uuid);
    if (deleted) {
      this.present.delete(uuid);
      this.deleted.add(uuid);
    } else {
      this.presentPhase = true;
      this.deleted.delete(uuid);
      this.present.add(uuid);
    }
  }
}
