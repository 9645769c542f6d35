import type { Entry } from '../../model/directory-user.js';
import { BerCursor, LdapDecodeError } from './ber-cursor.js';

export { LdapDecodeError } from './ber-cursor.js';

/**
 * A decoder of the LDAP responses the full sync reads (RFC 4511, BER with definite lengths): bind and search
 * results, search entries and references, and the paged-results control. It turns a search entry's bytes
 * straight into the plain `Entry` the reader keeps, without the intermediate message, attribute and reader
 * objects a general client builds per entry: at 100,000 users that decoding was most of the sync's time.
 */

/** Protocol operations (RFC 4511 4.2 - 4.12) the sync's connection receives. */
export const LdapResponseOp = {
  bind: 0x61,
  searchEntry: 0x64,
  searchDone: 0x65,
  searchReference: 0x73,
  extended: 0x78,
  /** IntermediateResponse (RFC 4511 4.13): content synchronisation's Sync Info Message. */
  intermediate: 0x79,
} as const;

/** RFC 2696 simple paged results. */
export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';

/** The LDAPResult of a response (RFC 4511 4.1.9). */
export interface LdapResult {
  resultCode: number;
  matchedDN: string;
  diagnosticMessage: string;
}

export interface DecodedControl {
  type: string;
  value?: Buffer;
}

/** One LDAP message, decoded as far as the sync needs it. */
export type LdapResponse =
  | {
      messageId: number;
      op: typeof LdapResponseOp.searchEntry;
      entry: Entry;
      /** Only when the entry came with controls (content synchronisation's Sync State). */
      controls?: DecodedControl[];
    }
  | { messageId: number; op: typeof LdapResponseOp.searchReference; uris: string[] }
  | {
      messageId: number;
      op: typeof LdapResponseOp.bind | typeof LdapResponseOp.searchDone | typeof LdapResponseOp.extended;
      result: LdapResult;
      controls: DecodedControl[];
    }
  | {
      messageId: number;
      op: typeof LdapResponseOp.intermediate;
      responseName: string | undefined;
      responseValue: Buffer | undefined;
    }
  | { messageId: number; op: number };

/** The server sent a message longer than the framer accepts: refused from its header, before it is gathered. */
export class LdapMessageTooLargeError extends LdapDecodeError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`a message of ${bytes} bytes is over the limit of ${limit}`);
    this.name = 'LdapMessageTooLargeError';
  }
}

/**
 * Splits a byte stream into LDAP messages. Bytes arrive in chunks that end anywhere; a message larger than a
 * chunk (a group with 40,000 members is megabytes) is gathered chunk by chunk once its length is known and
 * joined once, when it is complete: joining at every chunk made a 32 MB message cost seconds of CPU.
 * Messages are handed out as a range of a buffer, not a Buffer each: a page of 1,000 entries would make
 * 2,000 short-lived Buffer objects.
 */
export class LdapMessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total length of the message being gathered, once its header has arrived. */
  private needed = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Feeds a chunk; calls `onMessage` with every message it completes (`data[start, end)` is exactly one message). */
  push(chunk: Buffer, onMessage: (data: Buffer, start: number, end: number) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // Still short of the message being gathered: nothing to do until its last chunk arrives.
    if (this.buffered < this.needed) return;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    let start = 0;
    for (;;) {
      if (this.needed === 0) {
        const length = messageLength(data, start);
        if (length === undefined) break;
        if (length > this.maxMessageBytes) throw new LdapMessageTooLargeError(length, this.maxMessageBytes);
        this.needed = length;
      }
      if (this.buffered < this.needed) break;
      const end = start + this.needed;
      this.needed = 0;
      this.buffered -= end - start;
      onMessage(data, start, end);
      start = end;
      if (this.buffered === 0) break;
    }
    // What is left (part of the last chunk): a view, no copy, unless it would keep a large joined message alive.
    if (this.buffered === 0) this.chunks = [];
    else if (start === 0) this.chunks = [data];
    else if (data !== chunk && data.length > KEEP_VIEW_BYTES) this.chunks = [Buffer.from(data.subarray(start))];
    else this.chunks = [data.subarray(start)];
  }
}

/** Size of a joined buffer above which what is left of it is copied rather than kept as a view. */
const KEEP_VIEW_BYTES = 1 << 20;

/** Length of the message that starts at `data[at]`, header included; undefined until the header is complete. */
function messageLength(data: Buffer, at: number): number | undefined {
  if (data.length - at < 2) return undefined;
  if (data[at] !== 0x30) throw new LdapDecodeError(`a message starts with tag 0x${data[at].toString(16)}`);
  const first = data[at + 1];
  if (first < 0x80) return 2 + first;
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 4) throw new LdapDecodeError('unsupported length encoding');
  if (data.length - at < 2 + bytes) return undefined;
  let length = 0;
  for (let i = 0; i < bytes; i++) length = length * 256 + data[at + 2 + i];
  return 2 + bytes + length;
}

/**
 * Reads one complete message. An entry's attribute names are lower-cased; `binaryAttributes` (lower-case
 * names, or the names for a message id when several searches share the connection) keep their values as
 * Buffers, like objectGUID; every other value is decoded as UTF-8.
 */
export function decodeLdapMessage(
  message: Buffer,
  binaryAttributes: ReadonlySet<string> | ((messageId: number) => ReadonlySet<string>),
  start = 0,
  end = message.length,
): LdapResponse {
  const r = new BerCursor(message, start, end);
  r.enter(0x30);
  const messageId = r.readInteger();
  const op = r.peekTag();
  if (op === LdapResponseOp.searchEntry) {
    const end = r.enter(op);
    const binary = typeof binaryAttributes === 'function' ? binaryAttributes(messageId) : binaryAttributes;
    const entry = readEntry(r, end, binary);
    // Entries of a plain search carry no control: one comparison on the full sync's hot path.
    if (r.pos === r.end) return { messageId, op, entry };
    return { messageId, op, entry, controls: readControls(r) };
  }
  if (op === LdapResponseOp.intermediate) {
    const end = r.enter(op);
    const responseName = r.pos < end && r.peekTag() === 0x80 ? r.readString(0x80) : undefined;
    const responseValue = r.pos < end && r.peekTag() === 0x81 ? r.readBytes(0x81) : undefined;
    if (r.pos !== end) throw new LdapDecodeError('an intermediate response with unknown elements');
    return { messageId, op, responseName, responseValue };
  }
  if (op === LdapResponseOp.searchReference) {
    const end = r.enter(op);
    const uris: string[] = [];
    while (r.pos < end) uris.push(r.readString(0x04));
    return { messageId, op, uris };
  }
  if (op === LdapResponseOp.bind || op === LdapResponseOp.searchDone || op === LdapResponseOp.extended) {
    const end = r.enter(op);
    const result: LdapResult = {
      resultCode: r.readInteger(0x0a),
      matchedDN: r.readString(0x04),
      diagnosticMessage: r.readString(0x04),
    };
    r.pos = end; // referral, SASL credentials, extended name and value: not needed here
    const controls = r.pos < r.end && r.peekTag() === 0xa0 ? readControls(r) : [];
    return { messageId, op, result, controls };
  }
  return { messageId, op };
}

/**
 * The prototype of every decoded entry: empty, and not Object.prototype, so an attribute named `__proto__` or
 * `constructor` is an attribute like any other and a missing one reads undefined. Unlike Object.create(null),
 * entries made from it keep V8's fast properties.
 */
const ENTRY_PROTOTYPE = Object.freeze(Object.create(null) as object);

type EntryValue = Entry[string];

function readEntry(r: BerCursor, end: number, binaryAttributes: ReadonlySet<string>): Entry {
  const entry = Object.create(ENTRY_PROTOTYPE) as Entry;
  entry.dn = r.readString(0x04);
  const attributesEnd = r.enter(0x30);
  while (r.pos < attributesEnd) {
    const attributeEnd = r.enter(0x30);
    // Lower case: attribute names are case-insensitive, and the reader looks them up without searching.
    const type = r.readAttributeType();
    // The key `dn` is the entry's name: an attribute of that name would replace it.
    if (type === 'dn') throw new LdapDecodeError(`the entry ${entry.dn} has an attribute named "dn"`);
    const valuesEnd = r.enter(0x31);
    const binary = binaryAttributes.size > 0 && binaryAttributes.has(type);
    // The shape ldapts gives: one value as itself, several as an array, none as an empty array. Most
    // attributes have one value: no array is made for it.
    let value: EntryValue;
    if (r.pos === valuesEnd) {
      value = [];
    } else {
      const first = binary ? r.readBytes(0x04) : r.readString(0x04);
      if (r.pos === valuesEnd) {
        value = first;
      } else {
        const values: Array<string | Buffer> = [first];
        while (r.pos < valuesEnd) values.push(binary ? r.readBytes(0x04) : r.readString(0x04));
        value = values as string[] | Buffer[];
      }
    }
    const earlier = entry[type];
    // The same attribute twice (`mail` and `MAIL`): one attribute with the values of both, none lost.
    entry[type] = earlier === undefined ? value : (asList(earlier).concat(asList(value)) as string[] | Buffer[]);
    r.pos = attributeEnd;
  }
  r.pos = end;
  return entry;
}

function asList(value: EntryValue): Array<string | Buffer> {
  return Array.isArray(value) ? value : [value];
}

function readControls(r: BerCursor): DecodedControl[] {
  const controls: DecodedControl[] = [];
  const end = r.enter(0xa0);
  while (r.pos < end) {
    const controlEnd = r.enter(0x30);
    const type = r.readString(0x04);
    let value: Buffer | undefined;
    while (r.pos < controlEnd) {
      const tag = r.peekTag();
      if (tag === 0x04) value = r.readBytes(0x04);
      else r.skip();
    }
    controls.push({ type, value });
  }
  return controls;
}

/** The cookie of a paged-results control value (RFC 2696: SEQUENCE { size INTEGER, cookie OCTET STRING }). */
export function pagedResultsCookie(controls: readonly DecodedControl[]): Buffer | undefined {
  const control = controls.find((c) => c.type === PAGED_RESULTS_OID);
  if (!control?.value) return undefined;
  const r = new BerCursor(control.value, 0, control.value.length);
  r.enter(0x30);
  r.readInteger();
  return r.readBytes(0x04);
}
