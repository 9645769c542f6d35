/**
 * Failures a real directory produces mid-read, made on demand so that a reader can be proven to
 * notice them: a page that fails, a connection that dies between pages, and continuation
 * references (referrals) among the results.
 */
import { isWithin, parseDn, type DnInfo } from './dn.js';
import { SCOPE_BASE, SCOPE_ONE, type Outcome } from './ldap-protocol.js';

/** Makes one page of the next paged search fail. */
export interface PagedSearchFailure {
  /** The page that fails, counting from 1 (the answer to the request without a cookie). */
  page: number;
  /**
   * The LDAP result code the page ends with instead of its entries, for example 3 timeLimitExceeded,
   * 11 adminLimitExceeded or 51 busy. The paged search is over: its cookie is no longer valid.
   */
  resultCode: number;
  /** The diagnostic message; by default one that names the injected fault. */
  message?: string;
  /** Only a paged search whose base is this DN or below it takes the fault; default: the next one. */
  base?: string;
}

/** Drops the connection of the next paged search between two pages, like a server that dies mid-read. */
export interface PagedSearchDisconnect {
  /**
   * Pages answered before the connection dies: when the client asks for page `afterPage + 1`, the
   * socket is destroyed without any LDAP answer or Notice of Disconnection. 0 drops it at the first request.
   */
  afterPage: number;
  /** Only a paged search whose base is this DN or below it takes the fault; default: the next one. */
  base?: string;
}

/** An armed fault, as a paged search carries it. */
export type PagedSearchFault =
  | { kind: 'fail'; page: number; code: number; message: string; baseNdn?: string }
  | { kind: 'drop'; afterPage: number; baseNdn?: string };

/** Faults waiting for a paged search, first armed first taken: one fault per search. */
export class FaultPlan {
  #armed: PagedSearchFault[] = [];

  failPage(failure: PagedSearchFailure): void {
    const { page, resultCode } = failure;
    if (!Number.isInteger(page) || page < 1) throw new Error('EmbeddedDirectory: page must be an integer from 1');
    if (!Number.isInteger(resultCode) || resultCode < 1 || resultCode > 0x7fffffff) {
      throw new Error('EmbeddedDirectory: resultCode must be a non-zero LDAP result code');
    }
    this.#armed.push({
      kind: 'fail',
      page,
      code: resultCode,
      message: failure.message ?? `injected fault: page ${page} fails with result code ${resultCode}`,
      baseNdn: baseNdnOf(failure.base),
    });
  }

  dropConnection(disconnect: PagedSearchDisconnect): void {
    const { afterPage } = disconnect;
    if (!Number.isInteger(afterPage) || afterPage < 0) {
      throw new Error('EmbeddedDirectory: afterPage must be an integer from 0');
    }
    this.#armed.push({ kind: 'drop', afterPage, baseNdn: baseNdnOf(disconnect.base) });
  }

  clear(): void {
    this.#armed = [];
  }

  /** Called when a paged search starts: hands it the first armed fault that applies to its base. */
  take(searchBaseNdn: string): PagedSearchFault | undefined {
    const index = this.#armed.findIndex(
      (fault) => fault.baseNdn === undefined || isWithin(searchBaseNdn, fault.baseNdn),
    );
    return index === -1 ? undefined : this.#armed.splice(index, 1)[0];
  }
}

/** What a search's fault does to its page `page` (1-based), if anything. */
export function faultAt(fault: PagedSearchFault | undefined, page: number): Outcome | undefined {
  if (fault?.kind === 'fail' && fault.page === page) return { code: fault.code, message: fault.message };
  if (fault?.kind === 'drop' && page === fault.afterPage + 1) return { dropConnection: true };
  return undefined;
}

/**
 * Continuation references (RFC 4511 SearchResultReference), as AD returns for the naming contexts
 * below a domain root: one/sub searches whose scope holds the reference's DN get its URIs.
 */
export class ContinuationReferences {
  readonly #references = new Map<string, { info: DnInfo; uris: string[] }>();

  add(dn: string, uris: string | string[], base: DnInfo): void {
    const info = parseDn(dn);
    if (info.ndn === base.ndn || !isWithin(info.ndn, base.ndn)) {
      throw new Error(`EmbeddedDirectory: a continuation reference must lie below the base DN ${base.dn}`);
    }
    const list = Array.isArray(uris) ? [...uris] : [uris];
    if (list.length === 0 || !list.every((uri) => typeof uri === 'string' && /^ldaps?:\/\/\S+$/i.test(uri))) {
      throw new Error('EmbeddedDirectory: continuation reference URIs must be ldap:// or ldaps:// URLs');
    }
    this.#references.set(info.ndn, { info, uris: list });
  }

  remove(dn: string): void {
    const info = parseDn(dn);
    if (!this.#references.delete(info.ndn)) throw new Error(`EmbeddedDirectory: no continuation reference ${info.dn}`);
  }

  /** The URI lists a search of this scope under `baseNdn` returns. */
  inScope(baseNdn: string, scope: number): string[][] {
    if (scope === SCOPE_BASE) return [];
    const found: string[][] = [];
    for (const { info, uris } of this.#references.values()) {
      if (scope === SCOPE_ONE ? info.parentNdn === baseNdn : isWithin(info.ndn, baseNdn)) found.push(uris);
    }
    return found;
  }
}

function baseNdnOf(base: string | undefined): string | undefined {
  return base === undefined ? undefined : parseDn(base).ndn;
}
