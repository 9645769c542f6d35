/**
 * The entries of the embedded directory, keyed by normalised DN, and the values the directory
 * computes for them (memberOf, entryUUID, entryDN), as slapd's overlays or AD would.
 */
import { createHash } from 'node:crypto';

import { fold, isWithin, parentOf, parseDn, tryNormaliseDn, type DnInfo } from './dn.js';
import {
  PAGED_RESULTS_OID,
  RANGE_OPTION_OID,
  RANGE_RETRIEVAL_NOERR_OID,
  SCOPE_BASE,
  SCOPE_ONE,
} from './ldap-protocol.js';

export interface StoredAttribute {
  /** The name as first written (returned with that spelling). */
  name: string;
  values: string[];
}

export interface StoredEntry extends DnInfo {
  /** Keyed by lower-case attribute name. */
  attributes: Map<string, StoredAttribute>;
  uuid: string;
}

export type AttributeInput = Record<string, string | string[]>;

/** Computed by the directory, so they cannot be written. */
const COMPUTED = new Set(['memberof', 'entrydn']);
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Fixed namespace for the name-based (v5) entryUUIDs derived from normalised DNs. */
const UUID_NAMESPACE = Buffer.from('b868a7e682494f2abedd0b0d02e4ffec', 'hex');

export class EntryStore {
  readonly base: DnInfo;
  readonly #entries = new Map<string, StoredEntry>();
  /** member DN (normalised) -> groups listing it; rebuilt lazily after every change. */
  #memberIndex: Map<string, StoredEntry[]> | undefined;

  constructor(baseDn: string) {
    this.base = parseDn(baseDn);
    if (this.base.ndn === '') throw new Error('baseDn must not be empty');
  }

  get(ndn: string): StoredEntry | undefined {
    return this.#entries.get(ndn);
  }

  /** Adds an entry; `replace` allows an existing entry with the same DN to be overwritten. */
  store(dn: string, attributes: AttributeInput, replace: boolean): void {
    const info = parseDn(dn);
    if (!isWithin(info.ndn, this.base.ndn)) {
      throw new Error(`EmbeddedDirectory: ${info.dn} is not under the base DN ${this.base.dn}`);
    }
    if (!replace && this.#entries.has(info.ndn)) throw new Error(`EmbeddedDirectory: duplicate entry ${info.dn}`);

    const stored = new Map<string, StoredAttribute>();
    let uuid: string | undefined;
    for (const [name, raw] of Object.entries(attributes)) {
      const lower = checkAttributeName(name);
      const values = toValues(name, raw);
      if (COMPUTED.has(lower)) {
        throw new Error(`EmbeddedDirectory: ${name} is computed by the directory and cannot be set (${info.dn})`);
      }
      if (lower === 'entryuuid') {
        if (values.length !== 1 || !UUID.test(values[0] ?? '')) {
          throw new Error(`EmbeddedDirectory: invalid entryUUID for ${info.dn}`);
        }
        uuid = values[0]?.toLowerCase();
        continue;
      }
      const existing = stored.get(lower);
      const merged = existing ? existing.values : [];
      for (const value of values) if (!merged.includes(value)) merged.push(value);
      if (merged.length > 0) stored.set(lower, { name: existing?.name ?? name, values: merged });
    }
    // Every LDAP server insists that an entry holds its naming values; add them when missing.
    for (const ava of info.naming) {
      const lower = ava.name.toLowerCase();
      const attribute = stored.get(lower) ?? { name: ava.name, values: [] };
      if (!attribute.values.some((value) => fold(value) === fold(ava.value))) attribute.values.push(ava.value);
      stored.set(lower, attribute);
    }

    this.#entries.set(info.ndn, { ...info, attributes: stored, uuid: uuid ?? nameBasedUuid(info.ndn) });
    this.#memberIndex = undefined;
  }

  /** Removes a leaf entry. */
  remove(dn: string): void {
    const entry = this.existing(dn);
    for (const other of this.#entries.values()) {
      if (other !== entry && isWithin(other.ndn, entry.ndn)) {
        throw new Error(`EmbeddedDirectory: ${entry.dn} has subordinate entries (${other.dn})`);
      }
    }
    this.#entries.delete(entry.ndn);
    this.#memberIndex = undefined;
  }

  /** Replaces the named attributes' values; `null` (or an empty list) deletes the attribute. */
  modify(dn: string, changes: Record<string, string | string[] | null>): void {
    const entry = this.existing(dn);
    const attributes = new Map(entry.attributes);
    for (const [name, raw] of Object.entries(changes)) {
      const lower = checkAttributeName(name);
      if (COMPUTED.has(lower) || lower === 'entryuuid') {
        throw new Error(`EmbeddedDirectory: ${name} is operational and cannot be modified`);
      }
      const values = raw === null ? [] : toValues(name, raw);
      if (values.length === 0) attributes.delete(lower);
      else attributes.set(lower, { name: attributes.get(lower)?.name ?? name, values });
    }
    for (const ava of entry.naming) {
      const values = attributes.get(ava.name.toLowerCase())?.values ?? [];
      if (!values.some((value) => fold(value) === fold(ava.value))) {
        throw new Error(`EmbeddedDirectory: cannot remove the naming value ${ava.name}=${ava.value} of ${entry.dn}`);
      }
    }
    this.#entries.set(entry.ndn, { ...entry, attributes });
    this.#memberIndex = undefined;
  }

  existing(dn: string): StoredEntry {
    const info = parseDn(dn);
    const entry = this.#entries.get(info.ndn);
    if (!entry) throw new Error(`EmbeddedDirectory: no entry ${info.dn}`);
    return entry;
  }

  /** The entries in scope of a search, in insertion order (the order every page walks). */
  inScope(base: StoredEntry, scope: number): StoredEntry[] {
    const result: StoredEntry[] = [];
    for (const entry of this.#entries.values()) {
      const inScope =
        scope === SCOPE_BASE
          ? entry === base
          : scope === SCOPE_ONE
            ? entry.parentNdn === base.ndn
            : isWithin(entry.ndn, base.ndn);
      if (inScope) result.push(entry);
    }
    return result;
  }

  /** The DN of the nearest existing ancestor, for noSuchObject's matchedDN. */
  closestAncestor(info: DnInfo): string {
    for (let ndn = info.parentNdn; ndn !== ''; ndn = parentOf(ndn)) {
      const entry = this.#entries.get(ndn);
      if (entry) return entry.dn;
    }
    return '';
  }

  /** Values as seen by filters and attribute selection (userPassword is unreadable). */
  values(entry: StoredEntry, name: string): string[] | undefined {
    const lower = name.toLowerCase();
    if (lower === 'userpassword') return undefined;
    if (entry.ndn !== '') {
      if (lower === 'memberof') return (this.#groupIndex().get(entry.ndn) ?? []).map((group) => group.dn);
      if (lower === 'entryuuid') return [entry.uuid];
      if (lower === 'entrydn') return [entry.dn];
    }
    return entry.attributes.get(lower)?.values;
  }

  /** The root DSE; the range OIDs are advertised only when the directory imitates AD's MaxValRange. */
  rootDse(adRanges: boolean): StoredEntry {
    const attribute = (name: string, ...values: string[]): [string, StoredAttribute] => [
      name.toLowerCase(),
      { name, values },
    ];
    const controls = adRanges ? [PAGED_RESULTS_OID, RANGE_OPTION_OID, RANGE_RETRIEVAL_NOERR_OID] : [PAGED_RESULTS_OID];
    return {
      dn: '',
      ndn: '',
      parentNdn: '',
      naming: [],
      avas: [],
      uuid: '',
      attributes: new Map([
        attribute('objectClass', 'top'),
        attribute('namingContexts', this.base.dn),
        attribute('supportedLDAPVersion', '3'),
        attribute('supportedControl', ...controls),
        attribute('vendorName', 'nest-ldap-auth EmbeddedDirectory (development only)'),
      ]),
    };
  }

  /** Groups are entries with `member` values (groupOfNames, or an AD-style group). */
  #groupIndex(): Map<string, StoredEntry[]> {
    if (!this.#memberIndex) {
      const index = new Map<string, StoredEntry[]>();
      for (const group of this.#entries.values()) {
        for (const member of group.attributes.get('member')?.values ?? []) {
          const ndn = tryNormaliseDn(member);
          if (ndn === undefined) continue;
          const groups = index.get(ndn) ?? [];
          if (!groups.includes(group)) groups.push(group);
          index.set(ndn, groups);
        }
      }
      this.#memberIndex = index;
    }
    return this.#memberIndex;
  }
}

function checkAttributeName(name: string): string {
  if (!ATTRIBUTE_NAME.test(name)) throw new Error(`EmbeddedDirectory: invalid attribute name "${name}"`);
  return name.toLowerCase();
}

function toValues(name: string, raw: string | string[]): string[] {
  const values = Array.isArray(raw) ? raw : [raw];
  if (!values.every((value) => typeof value === 'string')) {
    throw new Error(`EmbeddedDirectory: values of ${name} must be strings`);
  }
  return [...values];
}

/** A name-based (version 5) UUID of the normalised DN: the same entry gets the same entryUUID on every start. */
function nameBasedUuid(ndn: string): string {
  const hash = createHash('sha1').update(UUID_NAMESPACE).update(ndn, 'utf8').digest();
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6); // version 5
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8); // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
