/**
 * An in-process, read-only LDAP directory for development and tests: the demo app starts it when
 * LDAP_AUTH_URL is unset, and tests import it from `@nest-ldap-auth/ldap-auth/testing`. It is never meant to
 * serve production logins.
 *
 * ldapjs 3 handles the wire protocol (ldap-server.ts); everything with meaning is done here and in
 * the files beside it: the entry store and DN normalisation (entry-store.ts, dn.ts), simple bind
 * and compare, filter evaluation (filter-matching.ts), attribute selection with AD's ranged
 * retrieval (attribute-selection.ts), paging and the limits of real servers (directory-search.ts),
 * and the faults tests can inject (fault-injection.ts).
 */
import { readFile } from 'node:fs/promises';

import { bind, compare } from './bind-and-compare.js';
import { DirectorySearch } from './directory-search.js';
import { EntryStore } from './entry-store.js';
import {
  ContinuationReferences,
  FaultPlan,
  type PagedSearchDisconnect,
  type PagedSearchFailure,
} from './fault-injection.js';
import { LdapServer } from './ldap-server.js';
import { parseLdif } from './ldif.js';

export type { PagedSearchDisconnect, PagedSearchFailure } from './fault-injection.js';

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
  /**
   * AD's MaxPageSize (1,000 on a real domain controller): a page holds at most this many entries
   * whatever the client asks for, and a search without paging returns this many, then fails with
   * sizeLimitExceeded (code 4). Default unlimited.
   */
  maxPageSize?: number;
  /** without paging, a search returning more than this fails with sizeLimitExceeded (code 4); default unlimited */
  sizeLimit?: number;
  /**
   * slapd's `size.prtotal` (which defaults to its sizelimit, 500): a paged search returning more
   * than this many entries in total fails with sizeLimitExceeded (code 4) on the page that crosses
   * it, after the entries up to the limit and with no cookie; earlier pages succeed. Default unlimited.
   */
  pagedSizeLimit?: number;
  /**
   * AD's MaxValRange (1,500 on a real domain controller): an attribute with more values comes back
   * as `<attr>;range=0-<max-1>` (beside the requested name, empty, when it was asked for by name),
   * and the client reads on with `<attr>;range=<low>-*` or `<attr>;range=<low>-<high>`; the last chunk
   * is named `<attr>;range=<low>-*`. A range starting past the last value of a linked attribute
   * (member, memberOf, manager...) fails the search with operationsError (1) unless the request carries
   * control 1.2.840.113556.1.4.1948, as on AD. Range requests are honoured with or without this option;
   * the option must be spelled `;range=` in lower case (ldapjs drops a connection that sends `;Range=`).
   * Default unlimited.
   */
  maxValRange?: number;
}

export class EmbeddedDirectory {
  readonly baseDn: string;

  readonly #store: EntryStore;
  readonly #faults = new FaultPlan();
  readonly #references = new ContinuationReferences();
  readonly #server: LdapServer;
  #url = '';

  private constructor(options: EmbeddedDirectoryOptions) {
    this.#store = new EntryStore(options.baseDn ?? 'dc=example,dc=com');
    this.baseDn = this.#store.base.dn;
    const search = new DirectorySearch(
      this.#store,
      {
        maxPageSize: positiveLimit('maxPageSize', options.maxPageSize),
        sizeLimit: positiveLimit('sizeLimit', options.sizeLimit),
        pagedSizeLimit: positiveLimit('pagedSizeLimit', options.pagedSizeLimit),
        maxValRange: positiveLimit('maxValRange', options.maxValRange),
      },
      this.#faults,
      this.#references,
    );
    this.#server = new LdapServer({
      bind: (req) => bind(this.#store, req),
      search: (req, res) => search.search(req, res),
      compare: (req) => compare(this.#store, req),
    });
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
      directory.#store.store(directory.baseDn, { objectClass: ['top', 'extensibleObject'] }, false);
    } else {
      for (const record of parseLdif(ldif)) directory.#store.store(record.dn, record.attributes, false);
    }
    directory.#url = await directory.#server.listen(options.host ?? '127.0.0.1', port);
    return directory;
  }

  /** ldap://HOST:PORT */
  get url(): string {
    return this.#url;
  }

  /** Closes the listener and every open connection; safe to call more than once. */
  stop(): Promise<void> {
    return this.#server.stop();
  }

  /** Adds an entry, replacing any entry with the same DN. `memberOf` and `entryDN` are computed. */
  addEntry(dn: string, attributes: Record<string, string | string[]>): void {
    this.#store.store(dn, attributes, true);
  }

  /** Removes a leaf entry. */
  removeEntry(dn: string): void {
    this.#store.remove(dn);
  }

  /** Replaces the named attributes' values; `null` (or an empty list) deletes the attribute. */
  modifyEntry(dn: string, changes: Record<string, string | string[] | null>): void {
    this.#store.modify(dn, changes);
  }

  // --- fault injection (tests) ---------------------------------------------------------------

  /**
   * Makes page `failure.page` of the next paged search (under `failure.base`, if given) end with
   * `failure.resultCode` instead of its entries; the pages before it succeed. Faults are taken
   * first armed, first served, one per paged search; a search that ends before that page drops it.
   *
   * @example directory.failPagedSearch({ page: 2, resultCode: 51 }); // busy on the second page
   */
  failPagedSearch(failure: PagedSearchFailure): void {
    this.#faults.failPage(failure);
  }

  /**
   * Destroys the connection of the next paged search (under `disconnect.base`, if given) when the
   * client asks for page `disconnect.afterPage + 1`: no answer, no Notice of Disconnection, as when
   * the server dies mid-read. Taken like {@link failPagedSearch}'s faults, from the same queue.
   */
  dropConnectionDuringPagedSearch(disconnect: PagedSearchDisconnect): void {
    this.#faults.dropConnection(disconnect);
  }

  /** Disarms every fault not yet taken by a paged search. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Puts a continuation reference (a referral to another server, such as AD returns for the naming
   * contexts below a domain root) at `dn`, which must lie below the base DN: every one-level search
   * of its parent and every subtree search above it returns a SearchResultReference with `uris`
   * (for example `ldap://other.example/DC=other,DC=example`) after its entries. The request control
   * 1.2.840.113556.1.4.1339 (AD's domain scope) suppresses them, as on AD.
   */
  addContinuationReference(dn: string, uris: string | string[]): void {
    this.#references.add(dn, uris, this.#store.base);
  }

  /** Removes a reference added with {@link addContinuationReference}. */
  removeContinuationReference(dn: string): void {
    this.#references.remove(dn);
  }
}

function positiveLimit(name: string, value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < 1) throw new Error(`EmbeddedDirectory: ${name} must be a positive integer`);
  return value;
}
