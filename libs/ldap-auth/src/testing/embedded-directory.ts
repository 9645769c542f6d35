/**
 * An in-process, read-only LDAP directory for development and tests: the demo app starts it when
 * LDAP_AUTH_URL is unset, and tests import it from `@app/ldap-auth/testing`. It is never meant to
 * serve production logins.
 *
 * ldapjs 3 handles the wire protocol; everything with meaning is done here: the entry store, DN
 * normalisation, simple bind, filter evaluation (ldapjs filters' own `matches()` compares values
 * case-sensitively, so it is not used), attribute selection, operational attributes, paging and
 * size limits.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';

import ldap from 'ldapjs';

import { parseLdif } from './ldif.js';

export interface EmbeddedDirectoryOptions {
  /** LDIF text or a path to an .ldif file (one of them) */
  ldif?: string;
  ldifPath?: string;
  /** default '127.0.0.1' (never listen elsewhere by default) */
  host?: string;
  /** default 0 = a free port */
  port?: number;
  /** default 'dc=example,dc=com' */
  baseDn?: string;
  /** entries returned per page are capped at this (simulates AD MaxPageSize); default unlimited */
  maxPageSize?: number;
  /** without paging, a search returning more than this fails with sizeLimitExceeded (code 4); default unlimited */
  sizeLimit?: number;
}

// --- The part of the ldapjs 3 runtime used here. @types/ldapjs describes the 2.x API, so the
// --- shapes are declared locally instead of trusting those types.

interface ParsedRdn {
  keys(): Iterable<string>;
  getValue(name: string): unknown;
}
interface ParsedDn {
  readonly length: number;
  rdnAt(index: number): ParsedRdn;
}
interface RequestControl {
  type: string;
  criticality: boolean;
  value?: { size?: number; cookie?: Buffer } | null;
}
/**
 * A parsed search filter. ldapjs 3 turns the filter it receives into a string and parses that
 * again without undoing the RFC 4515 escapes: a client's `o(brien)` arrives here as
 * `o\28brien\29`, `ü` as `\c3\bc`. Values go through `assertionValue()` before use.
 */
interface FilterNode {
  type: string;
  attribute?: string;
  value?: unknown;
  clauses: FilterNode[];
  initial?: string;
  any?: string[];
  final?: string;
  matchingRule?: string;
  dnAttributes?: boolean;
}
interface LdapRequest {
  connection: Socket;
  controls: RequestControl[];
}
interface BindRequest extends LdapRequest {
  dn: unknown;
  credentials: string;
}
interface SearchRequest extends LdapRequest {
  baseObject: ParsedDn;
  scope: number;
  filter: FilterNode;
  attributes: string[];
  sizeLimit: number;
  typesOnly: boolean;
}
interface CompareRequest extends LdapRequest {
  entry: unknown;
  attribute: string;
  value: string;
}
interface LdapResponse {
  messageId: number;
  matchedDN: string;
  diagnosticMessage: string;
  addControl(control: unknown): void;
  send(entry: unknown): void;
  end(status?: number): void;
}
type Next = () => void;
type Handler<R> = (req: R, res: LdapResponse, next: Next) => void;
interface LdapjsServer {
  server: NetServer;
  on(event: 'error', listener: (err: unknown) => void): void;
  listen(port: number, host: string, callback: () => void): void;
  close(callback: () => void): void;
  bind(dn: string, handler: Handler<BindRequest>): void;
  search(dn: string, handler: Handler<SearchRequest>): void;
  compare(dn: string, handler: Handler<CompareRequest>): void;
  add(dn: string, handler: Handler<LdapRequest>): void;
  del(dn: string, handler: Handler<LdapRequest>): void;
  modify(dn: string, handler: Handler<LdapRequest>): void;
  modifyDN(dn: string, handler: Handler<LdapRequest>): void;
}
interface LdapjsRuntime {
  createServer(options?: object): LdapjsServer;
  DN: { fromString(dn: string): ParsedDn };
  SearchEntry: new (options: { messageId: number; objectName: unknown; attributes: unknown[] }) => unknown;
  Attribute: new (options: { type: string; values: string[] }) => unknown;
  PagedResultsControl: new (options: { value: { size: number; cookie: Buffer } }) => unknown;
}

// ldapjs is CommonJS: the default import is its module.exports, under ts-jest and plain Node alike.
const ldapjs = ldap as unknown as LdapjsRuntime;

const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
const MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';
const MATCHING_RULE_BIT_AND = '1.2.840.113556.1.4.803';
const MATCHING_RULE_BIT_OR = '1.2.840.113556.1.4.804';

const SCOPE_BASE = 0;
const SCOPE_ONE = 1;

const RESULT = {
  success: 0,
  protocolError: 2,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  unavailableCriticalExtension: 12,
  noSuchAttribute: 16,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unwillingToPerform: 53,
  other: 80,
} as const;

/** Attributes holding DNs: equality on them compares normalised DNs, like slapd's distinguishedNameMatch. */
const DN_VALUED = new Set([
  'member',
  'uniquemember',
  'memberof',
  'owner',
  'manager',
  'secretary',
  'seealso',
  'roleoccupant',
  'distinguishedname',
  'entrydn',
]);
/** Computed by the directory, so they cannot be written. */
const COMPUTED = new Set(['memberof', 'entrydn']);
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)(?:;[A-Za-z0-9-]+)*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Fixed namespace for the name-based (v5) entryUUIDs derived from normalised DNs. */
const UUID_NAMESPACE = Buffer.from('b868a7e682494f2abedd0b0d02e4ffec', 'hex');

interface DnInfo {
  /** RFC 4514 string form with the spelling kept (UTF-8 left unescaped, like slapd returns it). */
  dn: string;
  /** Lower-case names, case-folded values, sorted multi-valued RDNs, hex-escaped specials. */
  ndn: string;
  parentNdn: string;
  /** The naming (first) RDN's attribute values, name as written. */
  naming: Array<{ name: string; value: string }>;
  /** Every attribute value of the DN, lower-case names (for `:dn:` extensible matches). */
  avas: Array<{ name: string; value: string }>;
}

interface StoredAttribute {
  name: string;
  values: string[];
}

interface StoredEntry extends DnInfo {
  attributes: Map<string, StoredAttribute>;
  uuid: string;
}

interface Outcome {
  code: number;
  message?: string;
  matchedDN?: string;
}

interface Selection {
  allUser: boolean;
  allOperational: boolean;
  names: Set<string>;
  typesOnly: boolean;
}

interface PagedSearch {
  pending: string[];
  returned: number;
}

class DnSyntaxError extends Error {}

export class EmbeddedDirectory {
  readonly baseDn: string;

  readonly #base: DnInfo;
  readonly #maxPageSize: number;
  readonly #sizeLimit: number;
  readonly #entries = new Map<string, StoredEntry>();
  readonly #server: LdapjsServer;
  readonly #sockets = new Set<Socket>();
  /** Paged-search state per connection, keyed by the cookie (hex). */
  readonly #pagedSearches = new WeakMap<Socket, Map<string, PagedSearch>>();
  /** member DN (normalised) -> groups listing it; rebuilt lazily after every change. */
  #memberIndex: Map<string, StoredEntry[]> | undefined;
  #url = '';
  #stopping: Promise<void> | undefined;

  private constructor(options: EmbeddedDirectoryOptions) {
    this.#base = parseDn(options.baseDn ?? 'dc=example,dc=com');
    if (this.#base.ndn === '') throw new Error('baseDn must not be empty');
    this.baseDn = this.#base.dn;
    this.#maxPageSize = positiveLimit('maxPageSize', options.maxPageSize);
    this.#sizeLimit = positiveLimit('sizeLimit', options.sizeLimit);

    // No logger is passed: ldapjs then logs nothing, in particular not the bind requests it
    // would otherwise dump, credentials included, at debug level.
    this.#server = ldapjs.createServer();
    // ldapjs reports unparsable client messages (a malformed DN, say) as 'error' events and
    // drops that connection; without a listener the event would crash the process.
    this.#server.on('error', () => undefined);
    this.#server.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });

    // Everything is mounted at the root DSE ('') so that this code sees every request.
    this.#server.bind('', (req, res, next) => reply(res, next, () => this.#bind(req)));
    this.#server.search('', (req, res, next) => reply(res, next, () => this.#search(req, res)));
    this.#server.compare('', (req, res, next) => reply(res, next, () => this.#compare(req)));
    const readOnly: Handler<LdapRequest> = (_req, res, next) =>
      reply(res, next, () => ({
        code: RESULT.unwillingToPerform,
        message: 'the embedded directory is read-only over LDAP; use addEntry/modifyEntry/removeEntry',
      }));
    this.#server.add('', readOnly);
    this.#server.del('', readOnly);
    this.#server.modify('', readOnly);
    this.#server.modifyDN('', readOnly);
  }

  static async start(options: EmbeddedDirectoryOptions = {}): Promise<EmbeddedDirectory> {
    if (options.ldif !== undefined && options.ldifPath !== undefined) {
      throw new Error('EmbeddedDirectory: pass either ldif or ldifPath, not both');
    }
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`EmbeddedDirectory: invalid port ${port}`);

    const directory = new EmbeddedDirectory(options);
    const ldif = options.ldifPath !== undefined ? await readFile(options.ldifPath, 'utf8') : options.ldif;
    if (ldif === undefined) {
      directory.#store(directory.baseDn, { objectClass: ['top', 'extensibleObject'] }, false);
    } else {
      for (const record of parseLdif(ldif)) directory.#store(record.dn, record.attributes, false);
    }
    await directory.#listen(options.host ?? '127.0.0.1', port);
    return directory;
  }

  /** ldap://HOST:PORT */
  get url(): string {
    return this.#url;
  }

  /** Closes the listener and every open connection; safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      // The callback also fires (with an error) when the server is not listening: closed either way.
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
    });
    return this.#stopping;
  }

  /** Adds an entry, replacing any entry with the same DN. `memberOf` and `entryDN` are computed. */
  addEntry(dn: string, attributes: Record<string, string | string[]>): void {
    this.#store(dn, attributes, true);
  }

  /** Removes a leaf entry. */
  removeEntry(dn: string): void {
    const entry = this.#existing(dn);
    const prefix = `,${entry.ndn}`;
    for (const other of this.#entries.values()) {
      if (other.ndn.endsWith(prefix)) {
        throw new Error(`EmbeddedDirectory: ${entry.dn} has subordinate entries (${other.dn})`);
      }
    }
    this.#entries.delete(entry.ndn);
    this.#memberIndex = undefined;
  }

  /** Replaces the named attributes' values; `null` (or an empty list) deletes the attribute. */
  modifyEntry(dn: string, changes: Record<string, string | string[] | null>): void {
    const entry = this.#existing(dn);
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

  // --- store ---------------------------------------------------------------------------------

  #store(dn: string, attributes: Record<string, string | string[]>, replace: boolean): void {
    const info = parseDn(dn);
    if (info.ndn !== this.#base.ndn && !info.ndn.endsWith(`,${this.#base.ndn}`)) {
      throw new Error(`EmbeddedDirectory: ${info.dn} is not under the base DN ${this.baseDn}`);
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

  #existing(dn: string): StoredEntry {
    const info = parseDn(dn);
    const entry = this.#entries.get(info.ndn);
    if (!entry) throw new Error(`EmbeddedDirectory: no entry ${info.dn}`);
    return entry;
  }

  async #listen(host: string, port: number): Promise<void> {
    const net = this.#server.server;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      this.#server.listen(port, host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    const address = net.address() as AddressInfo;
    this.#url = `ldap://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  // --- operations ----------------------------------------------------------------------------

  #bind(req: BindRequest): Outcome {
    // ldapjs answers the anonymous bind (empty DN and password) itself, before this runs.
    const dn = toDnInfo(req.dn);
    if (dn.ndn === '') return { code: RESULT.invalidCredentials, message: 'a password needs a bind DN' };
    // Like slapd: a DN with an empty password would be an "unauthenticated" bind; refuse it
    // rather than let it look like a successful login.
    if (req.credentials === '') {
      return { code: RESULT.unwillingToPerform, message: 'unauthenticated bind (DN with no password) disallowed' };
    }
    const entry = this.#entries.get(dn.ndn);
    const passwords = entry?.attributes.get('userpassword')?.values ?? [];
    const ok = passwords.some((password) => sameSecret(password, req.credentials));
    return ok ? { code: RESULT.success } : { code: RESULT.invalidCredentials };
  }

  #search(req: SearchRequest, res: LdapResponse): Outcome {
    const unsupported = req.controls.find((control) => control.criticality && control.type !== PAGED_RESULTS_OID);
    if (unsupported) {
      return { code: RESULT.unavailableCriticalExtension, message: `unsupported critical control ${unsupported.type}` };
    }
    const selection = selectionOf(req.attributes, req.typesOnly);
    const base = toDnInfo(req.baseObject);

    if (base.ndn === '') {
      if (req.scope !== SCOPE_BASE) {
        return { code: RESULT.noSuchObject, message: `only the root DSE lives here; search under ${this.baseDn}` };
      }
      const root = this.#rootDse();
      if (this.#matches(root, req.filter)) this.#send(res, root, selection);
      return { code: RESULT.success };
    }

    const baseEntry = this.#entries.get(base.ndn);
    if (!baseEntry) return { code: RESULT.noSuchObject, matchedDN: this.#closestAncestor(base) };

    const paged = req.controls.find((control) => control.type === PAGED_RESULTS_OID);
    if (paged) return this.#pagedSearch(req, res, paged, baseEntry, selection);

    const matches = this.#collect(baseEntry, req.scope, req.filter);
    const limit = Math.min(this.#sizeLimit, req.sizeLimit > 0 ? req.sizeLimit : Infinity);
    for (const entry of matches.slice(0, limit)) this.#send(res, entry, selection);
    return matches.length > limit
      ? { code: RESULT.sizeLimitExceeded, message: 'size limit exceeded' }
      : { code: RESULT.success };
  }

  /** RFC 2696 paging: the first request snapshots the matching DNs; cookies walk that list. */
  #pagedSearch(
    req: SearchRequest,
    res: LdapResponse,
    control: RequestControl,
    baseEntry: StoredEntry,
    selection: Selection,
  ): Outcome {
    let searches = this.#pagedSearches.get(req.connection);
    if (!searches) {
      searches = new Map();
      this.#pagedSearches.set(req.connection, searches);
    }
    const size = control.value?.size ?? 0;
    const cookie = control.value?.cookie;
    const endOfResults = (): void =>
      res.addControl(new ldapjs.PagedResultsControl({ value: { size: 0, cookie: Buffer.alloc(0) } }));

    let state: PagedSearch;
    if (cookie && cookie.length > 0) {
      const key = cookie.toString('hex');
      const found = searches.get(key);
      searches.delete(key);
      if (!found) return { code: RESULT.protocolError, message: 'paged results cookie is invalid' };
      if (size === 0) {
        // Page size 0 with a cookie: the client abandons the paged search.
        endOfResults();
        return { code: RESULT.success };
      }
      state = found;
    } else {
      state = { pending: this.#collect(baseEntry, req.scope, req.filter).map((entry) => entry.ndn), returned: 0 };
    }

    const pageSize = Math.min(size > 0 ? size : Infinity, this.#maxPageSize);
    const clientLimit = req.sizeLimit > 0 ? req.sizeLimit : Infinity;
    let sent = 0;
    while (sent < pageSize && state.pending.length > 0) {
      if (state.returned >= clientLimit) {
        endOfResults();
        return { code: RESULT.sizeLimitExceeded, message: 'size limit exceeded' };
      }
      const entry = this.#entries.get(state.pending.shift() ?? '');
      if (!entry) continue; // removed since the search started
      this.#send(res, entry, selection);
      sent += 1;
      state.returned += 1;
    }

    if (state.pending.length === 0) {
      endOfResults();
    } else {
      const next = randomBytes(16);
      searches.set(next.toString('hex'), state);
      res.addControl(new ldapjs.PagedResultsControl({ value: { size: 0, cookie: next } }));
    }
    return { code: RESULT.success };
  }

  #compare(req: CompareRequest): Outcome {
    const info = toDnInfo(req.entry);
    const entry = this.#entries.get(info.ndn);
    if (!entry) return { code: RESULT.noSuchObject, matchedDN: this.#closestAncestor(info) };
    const attribute = req.attribute.toLowerCase();
    if (attribute === 'userpassword') {
      return { code: RESULT.insufficientAccessRights, message: 'userPassword cannot be compared' };
    }
    const values = this.#values(entry, attribute) ?? [];
    if (values.length === 0) return { code: RESULT.noSuchAttribute };
    const equal = values.some((value) => valuesEqual(attribute, value, req.value));
    return { code: equal ? RESULT.compareTrue : RESULT.compareFalse };
  }

  // --- search helpers ------------------------------------------------------------------------

  #collect(base: StoredEntry, scope: number, filter: FilterNode): StoredEntry[] {
    const result: StoredEntry[] = [];
    for (const entry of this.#entries.values()) {
      const inScope =
        scope === SCOPE_BASE
          ? entry === base
          : scope === SCOPE_ONE
            ? entry.parentNdn === base.ndn
            : entry === base || entry.ndn.endsWith(`,${base.ndn}`);
      if (inScope && this.#matches(entry, filter)) result.push(entry);
    }
    return result;
  }

  #closestAncestor(info: DnInfo): string {
    for (let ndn = info.parentNdn; ndn !== ''; ndn = parentOf(ndn)) {
      const entry = this.#entries.get(ndn);
      if (entry) return entry.dn;
    }
    return '';
  }

  #rootDse(): StoredEntry {
    const attribute = (name: string, ...values: string[]): [string, StoredAttribute] => [
      name.toLowerCase(),
      { name, values },
    ];
    return {
      dn: '',
      ndn: '',
      parentNdn: '',
      naming: [],
      avas: [],
      uuid: '',
      attributes: new Map([
        attribute('objectClass', 'top'),
        attribute('namingContexts', this.baseDn),
        attribute('supportedLDAPVersion', '3'),
        attribute('supportedControl', PAGED_RESULTS_OID),
        attribute('vendorName', 'nest-ldap-auth EmbeddedDirectory (development only)'),
      ]),
    };
  }

  #send(res: LdapResponse, entry: StoredEntry, selection: Selection): void {
    const attributes: unknown[] = [];
    const add = (name: string, values: string[]): void => {
      if (values.length === 0) return;
      attributes.push(new ldapjs.Attribute({ type: name, values: selection.typesOnly ? [] : values }));
    };
    const isRoot = entry.ndn === '';
    for (const [lower, attribute] of entry.attributes) {
      if (lower === 'userpassword') continue; // never returned, whatever is asked for
      // The root DSE's attributes are operational in slapd; they are returned for '*' too here.
      if (selection.allUser || selection.names.has(lower) || (isRoot && selection.allOperational)) {
        add(attribute.name, attribute.values);
      }
    }
    if (!isRoot) {
      for (const name of ['entryUUID', 'entryDN', 'memberOf']) {
        if (selection.allOperational || selection.names.has(name.toLowerCase())) {
          add(name, this.#values(entry, name) ?? []);
        }
      }
    }
    res.send(new ldapjs.SearchEntry({ messageId: res.messageId, objectName: verbatimDn(entry.dn), attributes }));
  }

  /** Values as seen by filters and attribute selection (userPassword is unreadable). */
  #values(entry: StoredEntry, name: string): string[] | undefined {
    const lower = name.toLowerCase();
    if (lower === 'userpassword') return undefined;
    if (entry.ndn !== '') {
      if (lower === 'memberof') return (this.#groupIndex().get(entry.ndn) ?? []).map((group) => group.dn);
      if (lower === 'entryuuid') return [entry.uuid];
      if (lower === 'entrydn') return [entry.dn];
    }
    return entry.attributes.get(lower)?.values;
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

  #matches(entry: StoredEntry, filter: FilterNode): boolean {
    const attribute = filter.attribute ?? '';
    switch (filter.type) {
      case 'AndFilter':
        return filter.clauses.every((clause) => this.#matches(entry, clause));
      case 'OrFilter':
        return filter.clauses.some((clause) => this.#matches(entry, clause));
      case 'NotFilter': {
        const inner = filter.clauses[0];
        return inner !== undefined && !this.#matches(entry, inner);
      }
      case 'PresenceFilter':
        return (this.#values(entry, attribute) ?? []).length > 0;
      case 'EqualityFilter':
      case 'ApproximateFilter': {
        const assertion = assertionValue(filter.value);
        return (this.#values(entry, attribute) ?? []).some((value) => valuesEqual(attribute, value, assertion));
      }
      case 'SubstringFilter':
        return (this.#values(entry, attribute) ?? []).some((value) => substringMatches(value, filter));
      case 'GreaterThanEqualsFilter':
      case 'LessThanEqualsFilter': {
        const assertion = assertionValue(filter.value);
        const sign = filter.type === 'GreaterThanEqualsFilter' ? 1 : -1;
        return (this.#values(entry, attribute) ?? []).some((value) => compareOrdered(value, assertion) * sign >= 0);
      }
      case 'ExtensibleFilter':
        return this.#matchesExtensible(entry, filter);
      default:
        return false;
    }
  }

  /** `(attr:rule:=value)`, including AD's in-chain and bitwise rules. */
  #matchesExtensible(entry: StoredEntry, filter: FilterNode): boolean {
    const rule = (filter.matchingRule ?? '').toLowerCase();
    const attribute = filter.attribute ?? '';
    const assertion = assertionValue(filter.value);

    if (rule === MATCHING_RULE_IN_CHAIN) {
      const target = tryNormaliseDn(assertion);
      return attribute !== '' && target !== undefined && this.#chainReaches(entry, attribute, target);
    }
    const test = extensibleTest(rule, attribute, assertion);
    if (!test) return false;

    const candidates: Array<[string, string]> = [];
    if (attribute !== '') {
      for (const value of this.#values(entry, attribute) ?? []) candidates.push([attribute, value]);
    } else {
      for (const [lower, { values }] of entry.attributes) {
        if (lower !== 'userpassword') for (const value of values) candidates.push([lower, value]);
      }
    }
    if (filter.dnAttributes) {
      for (const ava of entry.avas) {
        if (attribute === '' || ava.name === attribute.toLowerCase()) candidates.push([ava.name, ava.value]);
      }
    }
    return candidates.some(([name, value]) => test(name, value));
  }

  /** Follows `attribute` DN links from the entry (memberOf upwards, member downwards) to `target`. */
  #chainReaches(entry: StoredEntry, attribute: string, target: string): boolean {
    const seen = new Set([entry.ndn]);
    let frontier = [entry];
    while (frontier.length > 0) {
      const next: StoredEntry[] = [];
      for (const current of frontier) {
        for (const value of this.#values(current, attribute) ?? []) {
          const ndn = tryNormaliseDn(value);
          if (ndn === undefined || seen.has(ndn)) continue;
          if (ndn === target) return true;
          seen.add(ndn);
          const linked = this.#entries.get(ndn);
          if (linked) next.push(linked);
        }
      }
      frontier = next;
    }
    return false;
  }
}

// --- helpers -----------------------------------------------------------------------------------

function reply(res: LdapResponse, next: Next, run: () => Outcome): void {
  let outcome: Outcome;
  try {
    outcome = run();
  } catch (error) {
    outcome =
      error instanceof DnSyntaxError
        ? { code: RESULT.invalidDnSyntax, message: error.message }
        : {
            code: RESULT.other,
            message: `embedded directory error: ${error instanceof Error ? error.message : String(error)}`,
          };
  }
  res.matchedDN = outcome.matchedDN ?? '';
  res.diagnosticMessage = outcome.message ?? '';
  res.end(outcome.code);
  next();
}

function positiveLimit(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < 1) throw new Error(`EmbeddedDirectory: ${name} must be a positive integer`);
  return value;
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

/** Case-ignore matching: Unicode NFC, surrounding and repeated white space ignored, lower case. */
function fold(value: string): string {
  return value.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/**
 * Recovers the value a client sent from ldapjs's escaped form (see FilterNode). `\hh` escapes are
 * bytes of UTF-8. ldapjs copies the bytes of 4-byte characters (emoji) one character per byte,
 * so such runs are put back together too. Substring parts are escaped twice by ldapjs; that
 * reverses the same way, as its second pass leaves `\hh` escapes alone. What cannot be told
 * apart is a value holding a literal backslash followed by two hex digits: it reads as an escape.
 */
function assertionValue(value: unknown): string {
  const escaped = text(value);
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of escaped.matchAll(/\\([0-9a-fA-F]{2})/g)) {
    parts.push(Buffer.from(escaped.slice(last, match.index), 'utf8'), Buffer.of(Number.parseInt(match[1] ?? '', 16)));
    last = match.index + match[0].length;
  }
  parts.push(Buffer.from(escaped.slice(last), 'utf8'));
  return Buffer.concat(parts)
    .toString('utf8')
    .replace(/[\u00f0-\u00f4][\u0080-\u00bf]{3}/g, (bytes) => Buffer.from(bytes, 'latin1').toString('utf8'));
}

function parseDn(dn: string): DnInfo {
  let parsed: ParsedDn;
  try {
    parsed = ldapjs.DN.fromString(dn);
  } catch {
    throw new DnSyntaxError(`invalid DN "${dn}"`);
  }
  return describeDn(parsed);
}

/** Request DNs arrive as strings or as ldapjs DN objects, depending on the operation. */
function toDnInfo(value: unknown): DnInfo {
  if (typeof value === 'object' && value !== null && 'rdnAt' in value) return describeDn(value as ParsedDn);
  return parseDn(text(value));
}

function describeDn(parsed: ParsedDn): DnInfo {
  const pretty: string[] = [];
  const normal: string[] = [];
  const naming: DnInfo['naming'] = [];
  const avas: DnInfo['avas'] = [];
  for (let i = 0; i < parsed.length; i += 1) {
    const rdn = parsed.rdnAt(i);
    const prettyParts: string[] = [];
    const normalParts: string[] = [];
    for (const name of rdn.keys()) {
      const value = rdn.getValue(name);
      if (typeof value !== 'string') throw new DnSyntaxError('hex-encoded (#...) DN values are not supported');
      prettyParts.push(`${name}=${escapeDnValue(value)}`);
      normalParts.push(`${name.toLowerCase()}=${hexEscape(fold(value))}`);
      avas.push({ name: name.toLowerCase(), value });
      if (i === 0) naming.push({ name, value });
    }
    pretty.push(prettyParts.join('+'));
    normal.push(normalParts.sort().join('+'));
  }
  return { dn: pretty.join(','), ndn: normal.join(','), parentNdn: normal.slice(1).join(','), naming, avas };
}

function parentOf(ndn: string): string {
  const comma = ndn.indexOf(',');
  return comma === -1 ? '' : ndn.slice(comma + 1);
}

function tryNormaliseDn(dn: string): string | undefined {
  try {
    return parseDn(dn).ndn;
  } catch {
    return undefined;
  }
}

/** RFC 4514 escaping for the returned DN form; UTF-8 stays as it is. */
function escapeDnValue(value: string): string {
  const chars = [...value];
  return chars
    .map((char, index) => {
      if ('\\"+,;<>'.includes(char)) return `\\${char}`;
      if (char === '\0') return '\\00';
      if ((char === ' ' || char === '#') && index === 0) return `\\${char}`;
      if (char === ' ' && index === chars.length - 1) return '\\ ';
      return char;
    })
    .join('');
}

/** In the normalised form separators never appear inside values, so suffix tests are safe. */
function hexEscape(value: string): string {
  return value.replace(/[\\"+,;<>=#\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** ldapjs would re-serialise a DN string, hex-escaping UTF-8; this hands it the stored form as is. */
function verbatimDn(dn: string): object {
  return { [Symbol.toStringTag]: 'LdapDn', toString: () => dn };
}

function valuesEqual(attribute: string, stored: string, assertion: string): boolean {
  if (DN_VALUED.has(attribute.toLowerCase())) {
    const left = tryNormaliseDn(stored);
    const right = tryNormaliseDn(assertion);
    if (left !== undefined && right !== undefined) return left === right;
  }
  return fold(stored) === fold(assertion);
}

function substringMatches(stored: string, filter: FilterNode): boolean {
  const value = fold(stored);
  let position = 0;
  if (filter.initial) {
    const initial = fold(assertionValue(filter.initial));
    if (!value.startsWith(initial)) return false;
    position = initial.length;
  }
  for (const part of filter.any ?? []) {
    const any = fold(assertionValue(part));
    const index = value.indexOf(any, position);
    if (index === -1) return false;
    position = index + any.length;
  }
  if (filter.final) {
    const final = fold(assertionValue(filter.final));
    return value.length - final.length >= position && value.endsWith(final);
  }
  return true;
}

const INTEGER = /^-?\d+$/;

function compareOrdered(stored: string, assertion: string): number {
  if (INTEGER.test(stored.trim()) && INTEGER.test(assertion.trim())) {
    const left = BigInt(stored.trim());
    const right = BigInt(assertion.trim());
    return left === right ? 0 : left > right ? 1 : -1;
  }
  const left = fold(stored);
  const right = fold(assertion);
  return left === right ? 0 : left > right ? 1 : -1;
}

function extensibleTest(
  rule: string,
  attribute: string,
  assertion: string,
): ((name: string, value: string) => boolean) | undefined {
  switch (rule) {
    case '':
      return (name, value) => valuesEqual(attribute || name, value, assertion);
    case '2.5.13.2':
    case 'caseignorematch':
      return (_name, value) => fold(value) === fold(assertion);
    case '2.5.13.5':
    case 'caseexactmatch':
      return (_name, value) => value.normalize('NFC') === assertion.normalize('NFC');
    case '2.5.13.1':
    case 'distinguishednamematch':
      return (_name, value) =>
        tryNormaliseDn(value) !== undefined && tryNormaliseDn(value) === tryNormaliseDn(assertion);
    case MATCHING_RULE_BIT_AND:
    case MATCHING_RULE_BIT_OR: {
      if (!INTEGER.test(assertion.trim())) return undefined;
      const mask = BigInt(assertion.trim());
      return (_name, value) => {
        if (!INTEGER.test(value.trim())) return false;
        const bits = BigInt(value.trim()) & mask;
        return rule === MATCHING_RULE_BIT_AND ? bits === mask : bits !== 0n;
      };
    }
    default:
      return undefined;
  }
}

function selectionOf(requested: string[], typesOnly: boolean): Selection {
  const lowered = requested.map((name) => name.toLowerCase());
  return {
    // No list means all user attributes; '1.1' alone means none.
    allUser: lowered.length === 0 || lowered.includes('*'),
    allOperational: lowered.includes('+'),
    names: new Set(lowered.filter((name) => name !== '*' && name !== '+' && name !== '1.1')),
    typesOnly,
  };
}

/** Constant-time comparison of a stored password with a presented one. */
function sameSecret(stored: string, presented: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(stored), digest(presented));
}

/** A name-based (version 5) UUID of the normalised DN: the same entry gets the same entryUUID on every start. */
function nameBasedUuid(ndn: string): string {
  const hash = createHash('sha1').update(UUID_NAMESPACE).update(ndn, 'utf8').digest();
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6); // version 5
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8); // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
