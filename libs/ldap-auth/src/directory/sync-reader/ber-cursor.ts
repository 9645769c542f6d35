/**
 * Reading BER (X.690, definite lengths only, as LDAP requires) from one message, for the sync's decoder of LDAP
 * responses (ldap-message-decoder.ts) and of the content-synchronisation controls (content-sync.ts).
 */

export class LdapDecodeError extends Error {
  constructor(message: string) {
    super(`malformed LDAP message: ${message}`);
    this.name = 'LdapDecodeError';
  }
}

/** Attribute names seen last (a search asks for a handful; ranged names change per range). */
const MAX_RECENT_TYPES = 16;
const recentTypes: Array<{ bytes: Buffer; name: string }> = [];

/** A read position in one message (`buf[pos, end)`); every read checks its tag and stays inside the message. */
export class BerCursor {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  peekTag(): number {
    if (this.pos >= this.end) throw new LdapDecodeError('truncated');
    return this.buf[this.pos];
  }

  /** Reads a tag and a length; returns where the element's content ends. */
  private header(expected: number): number {
    const tag = this.peekTag();
    if (tag !== expected) {
      throw new LdapDecodeError(`expected tag 0x${expected.toString(16)}, found 0x${tag.toString(16)}`);
    }
    let pos = this.pos + 1;
    if (pos >= this.end) throw new LdapDecodeError('truncated');
    let length = this.buf[pos++];
    if (length >= 0x80) {
      const bytes = length & 0x7f;
      if (bytes === 0 || bytes > 4 || pos + bytes > this.end) throw new LdapDecodeError('bad length');
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + this.buf[pos++];
    }
    const end = pos + length;
    if (end > this.end) throw new LdapDecodeError('an element runs past the end of its message');
    this.pos = pos;
    return end;
  }

  /** Steps into a constructed element; returns where it ends. */
  enter(tag: number): number {
    return this.header(tag);
  }

  skip(): void {
    this.pos = this.header(this.peekTag());
  }

  readInteger(tag = 0x02): number {
    const end = this.header(tag);
    if (end === this.pos || end - this.pos > 4) throw new LdapDecodeError('bad integer');
    let value = this.buf[this.pos] & 0x80 ? -1 : 0;
    for (let i = this.pos; i < end; i++) value = value * 256 + this.buf[i];
    this.pos = end;
    return value;
  }

  /** A BOOLEAN (X.690: any non-zero octet is TRUE). */
  readBoolean(tag = 0x01): boolean {
    const end = this.header(tag);
    if (end - this.pos !== 1) throw new LdapDecodeError('bad boolean');
    const value = this.buf[this.pos] !== 0;
    this.pos = end;
    return value;
  }

  readString(tag: number): string {
    const end = this.header(tag);
    const value = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return value;
  }

  /**
   * An attribute description, lower-cased. Every entry of a search repeats the same few names: the last ones
   * seen are compared byte by byte and their string reused, instead of two new strings per attribute.
   */
  readAttributeType(): string {
    const end = this.header(0x04);
    const length = end - this.pos;
    for (const known of recentTypes) {
      if (known.bytes.length !== length) continue;
      let same = true;
      for (let i = 0; i < length && same; i++) same = known.bytes[i] === this.buf[this.pos + i];
      if (same) {
        this.pos = end;
        return known.name;
      }
    }
    const bytes = Buffer.from(this.buf.subarray(this.pos, end));
    const name = bytes.toString('utf8').toLowerCase();
    if (recentTypes.length >= MAX_RECENT_TYPES) recentTypes.shift();
    recentTypes.push({ bytes, name });
    this.pos = end;
    return name;
  }

  /** The contents of an element of `tag`, handed to `read` where they lie: no copy (`read` must not keep `buf`). */
  readWith<T>(tag: number, read: (buf: Buffer, start: number, end: number) => T): T {
    const end = this.header(tag);
    const value = read(this.buf, this.pos, end);
    this.pos = end;
    return value;
  }

  readBytes(tag: number): Buffer {
    const end = this.header(tag);
    // A copy: the message's buffer may be a slice of a large chunk that should not stay alive.
    const value = Buffer.from(this.buf.subarray(this.pos, end));
    this.pos = end;
    return value;
  }
}
