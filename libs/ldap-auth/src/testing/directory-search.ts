/**
 * The search operation: scope and filter over the entry store, RFC 2696 paging, and the limits
 * real servers impose, which a reader must survive: AD's MaxPageSize and MaxValRange, slapd's
 * sizelimit and size.prtotal. Also where injected faults and continuation references take effect.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

import { returnedAttributes, selectionOf, type RangeOptions, type Selection } from './attribute-selection.js';
import { toDnInfo } from './dn.js';
import type { EntryStore, StoredEntry } from './entry-store.js';
import { faultAt, type ContinuationReferences, type FaultPlan, type PagedSearchFault } from './fault-injection.js';
import { matches } from './filter-matching.js';
import {
  DOMAIN_SCOPE_OID,
  PAGED_RESULTS_OID,
  RANGE_RETRIEVAL_NOERR_OID,
  RESULT,
  SCOPE_BASE,
  SUPPORTED_SEARCH_CONTROLS,
  type Outcome,
} from './ldap-protocol.js';
import { ldapjs, verbatimDn, type LdapResponse, type RequestControl, type SearchRequest } from './ldapjs-runtime.js';

/** Server-side limits; Infinity where a limit is off. */
export interface SearchLimits {
  /** Entries per page, and per unpaged search (AD MaxPageSize). */
  maxPageSize: number;
  /** Entries per unpaged search (slapd sizelimit). */
  sizeLimit: number;
  /** Entries per paged search in total (slapd size.prtotal). */
  pagedSizeLimit: number;
  /** Values per attribute per entry (AD MaxValRange). */
  maxValRange: number;
}

/** A paged search between two pages. */
interface PagedSearch {
  /** Normalised DNs of the matching entries not yet returned, snapshot at the first page. */
  pending: string[];
  returned: number;
  /** Pages answered so far, this one included once it is being answered. */
  pages: number;
  fault: PagedSearchFault | undefined;
  /** Sent with the last page, after the entries. */
  references: string[][];
}

/** What one search request sends back, shared by its unpaged and paged forms. */
interface SearchContext {
  res: LdapResponse;
  selection: Selection;
  ranges: RangeOptions;
  references: string[][];
}

const SIZE_LIMIT_EXCEEDED: Outcome = { code: RESULT.sizeLimitExceeded, message: 'size limit exceeded' };

export class DirectorySearch {
  /** Paged-search state per connection, keyed by the cookie (hex). */
  readonly #pagedSearches = new WeakMap<Socket, Map<string, PagedSearch>>();

  constructor(
    private readonly store: EntryStore,
    private readonly limits: SearchLimits,
    private readonly faults: FaultPlan,
    private readonly references: ContinuationReferences,
  ) {}

  search(req: SearchRequest, res: LdapResponse): Outcome {
    const unsupported = req.controls.find(
      (control) => control.criticality && !SUPPORTED_SEARCH_CONTROLS.has(control.type),
    );
    if (unsupported) {
      return { code: RESULT.unavailableCriticalExtension, message: `unsupported critical control ${unsupported.type}` };
    }
    const hasControl = (oid: string): boolean => req.controls.some((control) => control.type === oid);
    const selection = selectionOf(req.attributes, req.typesOnly);
    const ranges = { maxValRange: this.limits.maxValRange, rangeNoError: hasControl(RANGE_RETRIEVAL_NOERR_OID) };
    const base = toDnInfo(req.baseObject);

    if (base.ndn === '') {
      if (req.scope !== SCOPE_BASE) {
        return {
          code: RESULT.noSuchObject,
          message: `only the root DSE lives here; search under ${this.store.base.dn}`,
        };
      }
      const root = this.store.rootDse(this.limits.maxValRange !== Infinity);
      if (matches(this.store, root, req.filter)) this.#send({ res, selection, ranges, references: [] }, root);
      return { code: RESULT.success };
    }

    const baseEntry = this.store.get(base.ndn);
    if (!baseEntry) return { code: RESULT.noSuchObject, matchedDN: this.store.closestAncestor(base) };

    // AD's domain scope control keeps references to other naming contexts out of the answer.
    const references = hasControl(DOMAIN_SCOPE_OID) ? [] : this.references.inScope(baseEntry.ndn, req.scope);
    const context: SearchContext = { res, selection, ranges, references };
    const paged = req.controls.find((control) => control.type === PAGED_RESULTS_OID);
    if (paged) return this.#pagedSearch(req, paged, baseEntry, context);

    // Without paging AD stops at MaxPageSize too, with sizeLimitExceeded, like slapd at its sizelimit.
    const found = this.#matching(baseEntry, req);
    const limit = Math.min(
      this.limits.sizeLimit,
      this.limits.maxPageSize,
      req.sizeLimit > 0 ? req.sizeLimit : Infinity,
    );
    for (const entry of found.slice(0, limit)) this.#send(context, entry);
    if (found.length > limit) return SIZE_LIMIT_EXCEEDED;
    this.#sendReferences(context);
    return { code: RESULT.success };
  }

  /** RFC 2696 paging: the first request snapshots the matching DNs; cookies walk that list. */
  #pagedSearch(req: SearchRequest, control: RequestControl, baseEntry: StoredEntry, context: SearchContext): Outcome {
    let searches = this.#pagedSearches.get(req.connection);
    if (!searches) {
      searches = new Map();
      this.#pagedSearches.set(req.connection, searches);
    }
    const size = control.value?.size ?? 0;
    const cookie = control.value?.cookie;
    const endOfResults = (): void =>
      context.res.addControl(new ldapjs.PagedResultsControl({ value: { size: 0, cookie: Buffer.alloc(0) } }));

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
      state = {
        pending: this.#matching(baseEntry, req).map((entry) => entry.ndn),
        returned: 0,
        pages: 0,
        fault: this.faults.take(baseEntry.ndn),
        references: context.references,
      };
    }

    state.pages += 1;
    const injected = faultAt(state.fault, state.pages);
    if (injected) return injected;

    const pageSize = Math.min(size > 0 ? size : Infinity, this.limits.maxPageSize);
    const clientLimit = req.sizeLimit > 0 ? req.sizeLimit : Infinity;
    for (let sent = 0; sent < pageSize; sent += 1) {
      const entry = this.#nextLive(state);
      if (!entry) break;
      if (state.returned >= clientLimit) {
        endOfResults();
        return SIZE_LIMIT_EXCEEDED;
      }
      // slapd's size.prtotal: the page that would cross it returns the entries up to it, then
      // sizeLimitExceeded without a cookie (checked against slapd 2.5 with sizelimit 5).
      if (state.returned >= this.limits.pagedSizeLimit) return SIZE_LIMIT_EXCEEDED;
      this.#send(context, entry);
      state.returned += 1;
    }

    if (!this.#peekLive(state)) {
      this.#sendReferences({ ...context, references: state.references });
      endOfResults();
    } else {
      const next = randomBytes(16);
      searches.set(next.toString('hex'), state);
      context.res.addControl(new ldapjs.PagedResultsControl({ value: { size: 0, cookie: next } }));
    }
    return { code: RESULT.success };
  }

  #matching(baseEntry: StoredEntry, req: SearchRequest): StoredEntry[] {
    return this.store.inScope(baseEntry, req.scope).filter((entry) => matches(this.store, entry, req.filter));
  }

  /** Skips entries removed since the search started. */
  #peekLive(state: PagedSearch): StoredEntry | undefined {
    while (state.pending.length > 0) {
      const entry = this.store.get(state.pending[0] ?? '');
      if (entry) return entry;
      state.pending.shift();
    }
    return undefined;
  }

  #nextLive(state: PagedSearch): StoredEntry | undefined {
    const entry = this.#peekLive(state);
    state.pending.shift();
    return entry;
  }

  #send({ res, selection, ranges }: SearchContext, entry: StoredEntry): void {
    const attributes = returnedAttributes(this.store, entry, selection, ranges).map(
      (attribute) => new ldapjs.Attribute(attribute),
    );
    res.send(new ldapjs.SearchEntry({ messageId: res.messageId, objectName: verbatimDn(entry.dn), attributes }));
  }

  /** After the entries, as the last thing before the result. */
  #sendReferences({ res, references }: SearchContext): void {
    for (const uris of references) res.send(new ldapjs.SearchReference({ messageId: res.messageId, uri: uris }));
  }
}
