/**
 * Which attributes, and which of their values, a search returns for an entry, including Active
 * Directory's ranged retrieval (MS-ADTS 3.1.1.3.1.3.3): past MaxValRange values an attribute comes
 * back as `member;range=0-1499`, and a client asks for `member;range=1500-*` next.
 */
import type { EntryStore, StoredEntry } from './entry-store.js';
import { LdapResultError, RESULT } from './ldap-protocol.js';

/** One attribute description a search asked for: `member`, or `member;range=1500-*`. */
interface RequestedDescription {
  /** As the client wrote it; echoed back with no values when the answer carries another range. */
  description: string;
  /** Absent for a plain name. `high` is Infinity for `*`. */
  range?: { low: number; high: number };
}

export interface Selection {
  allUser: boolean;
  allOperational: boolean;
  /** Lower-case attribute name -> the descriptions that named it. */
  requested: Map<string, RequestedDescription[]>;
  typesOnly: boolean;
}

export interface ReturnedAttribute {
  type: string;
  values: string[];
}

export interface RangeOptions {
  /** AD's MaxValRange: at most this many values of one attribute per entry (Infinity: no cap). */
  maxValRange: number;
  /** The request carried LDAP_SERVER_RANGE_RETRIEVAL_NOERR_OID. */
  rangeNoError: boolean;
}

/**
 * AD's linked attributes (forward links and their back links) among those this directory holds.
 * Only these fail a range that starts past their last value (MS-ADTS 3.1.1.3.4.1.22).
 */
const LINKED = new Set(['member', 'memberof', 'manager', 'directreports', 'managedby', 'managedobjects']);
/** Computed operational attributes: returned when asked for by name or with `+`, never for `*`. */
const OPERATIONAL = ['entryUUID', 'entryDN', 'memberOf'];
const RANGE_OPTION = /^range=(\d+)-(\d+|\*)$/i;

export function selectionOf(requested: string[], typesOnly: boolean): Selection {
  const lowered = requested.map((name) => name.toLowerCase());
  const selection: Selection = {
    // No list means all user attributes; '1.1' alone means none.
    allUser: lowered.length === 0 || lowered.includes('*'),
    allOperational: lowered.includes('+'),
    requested: new Map(),
    typesOnly,
  };
  for (const description of requested) {
    if (['*', '+', '1.1'].includes(description)) continue;
    const parsed = parseDescription(description);
    if (!parsed) continue;
    const list = selection.requested.get(parsed.name) ?? [];
    list.push(parsed.request);
    selection.requested.set(parsed.name, list);
  }
  return selection;
}

/**
 * The attributes to send for an entry. Throws operationsError for a range past the last value of
 * a linked attribute, as AD does without the NOERR control (the search ends there).
 */
export function returnedAttributes(
  store: EntryStore,
  entry: StoredEntry,
  selection: Selection,
  ranges: RangeOptions,
): ReturnedAttribute[] {
  const result: ReturnedAttribute[] = [];
  const sent = new Set<string>();
  const emit = (attribute: ReturnedAttribute): void => {
    const key = attribute.type.toLowerCase();
    if (sent.has(key)) return;
    sent.add(key);
    result.push(selection.typesOnly ? { type: attribute.type, values: [] } : attribute);
  };
  const seen = new Set<string>();
  const select = (name: string, values: string[], implicit: boolean): void => {
    seen.add(name.toLowerCase());
    const requests = selection.requested.get(name.toLowerCase());
    if (requests) {
      for (const request of requests) windowOf(name, values, request, ranges).forEach(emit);
    } else if (implicit) {
      windowOf(name, values, undefined, ranges).forEach(emit);
    }
  };

  const isRoot = entry.ndn === '';
  for (const [lower, attribute] of entry.attributes) {
    if (lower === 'userpassword') continue; // never returned, whatever is asked for
    // The root DSE's attributes are operational in slapd; they are returned for '*' too here.
    select(attribute.name, attribute.values, selection.allUser || (isRoot && selection.allOperational));
  }
  if (!isRoot) {
    for (const name of OPERATIONAL) select(name, store.values(entry, name) ?? [], selection.allOperational);
  }
  // A range asked of a link attribute the entry lacks (an empty group) starts past its last value too.
  for (const [name, requests] of isRoot ? [] : selection.requested) {
    if (!seen.has(name) && LINKED.has(name)) for (const request of requests) windowOf(name, [], request, ranges);
  }
  return result;
}

/**
 * The values one description gets. AD names the answer `<attr>;range=<low>-<high>` whenever it was
 * asked for a range or had to cut the attribute at MaxValRange, with `*` as high on the last chunk;
 * and when that name differs from the one requested, it also returns the requested one, empty
 * (Microsoft's "Searching Using Range Retrieval"), which is a trap for clients that take the first.
 */
function windowOf(
  name: string,
  values: string[],
  request: RequestedDescription | undefined,
  { maxValRange, rangeNoError }: RangeOptions,
): ReturnedAttribute[] {
  const low = request?.range?.low ?? 0;
  const high = request?.range?.high ?? Infinity;
  if (low >= values.length) {
    // MS-ADTS 3.1.1.3.4.1.22: low >= the number of values of a link attribute is operationsError,
    // unless the request carries LDAP_SERVER_RANGE_RETRIEVAL_NOERR_OID (then: no values, no error).
    if (request?.range && LINKED.has(name.toLowerCase()) && !rangeNoError) {
      throw new LdapResultError(
        RESULT.operationsError,
        `range ${low}-${high === Infinity ? '*' : high} starts past the last value of ${name} (${values.length} values)`,
      );
    }
    return [];
  }
  const last = Math.min(high, values.length - 1, low + maxValRange - 1);
  const chunk = values.slice(low, last + 1);
  if (!request?.range && last === values.length - 1) return [{ type: name, values: chunk }];

  const type = `${name};range=${low}-${last === values.length - 1 ? '*' : last}`;
  const echo = request && request.description.toLowerCase() !== type.toLowerCase();
  return echo
    ? [
        { type: request.description, values: [] },
        { type, values: chunk },
      ]
    : [{ type, values: chunk }];
}

/**
 * `name` or `name;range=low-high|*`. Other options, two range options, or a range whose high is
 * below its low select nothing (what AD does with those is not documented).
 */
function parseDescription(description: string): { name: string; request: RequestedDescription } | undefined {
  const [name = '', ...options] = description.split(';');
  if (options.length === 0) return { name: name.toLowerCase(), request: { description } };
  const match = options.length === 1 ? RANGE_OPTION.exec(options[0] ?? '') : null;
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = match[2] === '*' ? Infinity : Number(match[2]);
  if (!Number.isSafeInteger(low) || (high !== Infinity && (!Number.isSafeInteger(high) || high < low))) {
    return undefined;
  }
  return { name: name.toLowerCase(), request: { description, range: { low, high } } };
}
