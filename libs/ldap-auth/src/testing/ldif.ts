/**
 * A small LDIF (RFC 2849) reader for the embedded development directory.
 *
 * Supported: content records (`dn:` followed by `attr: value` lines), multi-valued attributes,
 * base64 values and DNs (`attr:: ...`, decoded as UTF-8), comments, line folding, CRLF line
 * ends, a leading `version: 1` and `changetype: add`. Not supported (rejected with the line
 * number): URL values (`attr:< file://...`), other change types, controls and binary values.
 */

export interface LdifRecord {
  dn: string;
  /** Attribute names as first written; names differing only in case are merged. */
  attributes: Record<string, string[]>;
}

export class LdifParseError extends Error {
  constructor(
    message: string,
    /** 1-based physical line where the offending logical line starts. */
    readonly line: number,
  ) {
    super(`LDIF line ${line}: ${message}`);
    this.name = 'LdifParseError';
  }
}

interface LogicalLine {
  text: string;
  line: number;
}

// Attribute descriptions: a name or numeric OID, optionally with options (`cn;lang-de`).
const ATTRIBUTE_DESCRIPTION = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseLdif(text: string): LdifRecord[] {
  const records: LdifRecord[] = [];
  let current: { dn: string; attributes: Map<string, { name: string; values: string[] }> } | undefined;
  let seenContent = false;

  const flush = (): void => {
    if (!current) return;
    const attributes: Record<string, string[]> = {};
    for (const { name, values } of current.attributes.values()) attributes[name] = values;
    records.push({ dn: current.dn, attributes });
    current = undefined;
  };

  for (const { text: lineText, line } of logicalLines(text)) {
    if (lineText === '') {
      flush();
      continue;
    }
    if (lineText.startsWith('#')) continue;

    const [name, value] = parseAttributeLine(lineText, line);
    const lower = name.toLowerCase();

    if (!current) {
      if (lower === 'version' && !seenContent && records.length === 0) {
        if (value !== '1') throw new LdifParseError(`unsupported LDIF version "${value}"`, line);
        seenContent = true;
        continue;
      }
      if (lower !== 'dn') throw new LdifParseError(`expected "dn:" to start a record, found "${name}:"`, line);
      if (value.trim() === '') throw new LdifParseError('empty DN', line);
      current = { dn: value, attributes: new Map() };
      seenContent = true;
      continue;
    }

    if (lower === 'dn') throw new LdifParseError('"dn:" inside a record (records are separated by a blank line)', line);
    if (lower === 'control') throw new LdifParseError('LDIF controls are not supported', line);
    if (lower === 'changetype') {
      if (value.toLowerCase() !== 'add') {
        throw new LdifParseError(`only content records are supported, not "changetype: ${value}"`, line);
      }
      continue;
    }

    const existing = current.attributes.get(lower);
    if (existing) existing.values.push(value);
    else current.attributes.set(lower, { name, values: [value] });
  }
  flush();
  return records;
}

/** Splits text into lines, joins folded continuations and keeps the physical line each starts on. */
function logicalLines(text: string): LogicalLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const result: LogicalLine[] = [];
  let previousBlank = true;
  physical.forEach((raw, index) => {
    const line = index + 1;
    // A line holding only whitespace is treated as a record separator, not as a (pointless)
    // folded continuation: editors leave such lines behind and the strict reading would merge
    // two records.
    if (raw.trim() === '') {
      result.push({ text: '', line });
      previousBlank = true;
      return;
    }
    if (raw.startsWith(' ')) {
      const last = result[result.length - 1];
      if (previousBlank || !last) {
        throw new LdifParseError('continuation line (starting with a space) without a line to continue', line);
      }
      last.text += raw.slice(1);
      return;
    }
    result.push({ text: raw, line });
    previousBlank = false;
  });
  return result;
}

function parseAttributeLine(text: string, line: number): [string, string] {
  const colon = text.indexOf(':');
  // The line's text is not quoted back: it might be a mistyped password line.
  if (colon <= 0) throw new LdifParseError('expected "name: value"', line);
  const name = text.slice(0, colon);
  if (!ATTRIBUTE_DESCRIPTION.test(name)) throw new LdifParseError(`invalid attribute name "${truncate(name)}"`, line);

  const rest = text.slice(colon + 1);
  if (rest.startsWith(':')) return [name, decodeBase64(rest.slice(1).trim(), line)];
  if (rest.startsWith('<')) throw new LdifParseError(`URL values ("${name}:<") are not supported`, line);
  // The value starts after the separating spaces; trailing spaces belong to the value.
  return [name, rest.replace(/^ +/, '')];
}

function decodeBase64(encoded: string, line: number): string {
  if (!BASE64.test(encoded)) throw new LdifParseError('invalid base64 value', line);
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'));
  } catch {
    throw new LdifParseError('base64 value is not UTF-8 text (binary values are not supported)', line);
  }
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value;
}
