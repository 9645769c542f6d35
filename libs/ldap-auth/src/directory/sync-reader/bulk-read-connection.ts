import type * as net from 'node:net';
import {
  BindRequest,
  type Control,
  type Filter,
  FilterParser,
  PagedResultsControl,
  SearchRequest,
  UnbindRequest,
} from 'ldapts';
import type { Entry } from '../../model/directory-user.js';
import { IncompleteDirectoryReadError } from '../../errors/ldap-auth.errors.js';
import { measured } from '../measured-client.js';
import {
  ContentSyncCollector,
  ContentSyncProtocolError,
  type ContentSyncRefresh,
  ContentSyncRefreshRequiredError,
  ContentSyncUnavailableError,
  hasSyncState,
  SyncRequestControl,
} from './content-sync.js';
import { refuseRefreshResult, resultError } from './result-errors.js';
import {
  decodeLdapMessage,
  LdapMessageFramer,
  LdapMessageTooLargeError,
  type LdapResponse,
  LdapResponseOp,
  type LdapResult,
  pagedResultsCookie,
} from './ldap-message-decoder.js';

/**
 * What the connection accepts from a server before it refuses the read (README "Full sync"): a broken or
 * hostile directory must not grow the heap without end, block the event loop, or hold the sync lock forever.
 */
export interface BulkReadLimits {
  /** Largest single message, refused from its header. */
  maxMessageBytes: number;
  /** Pages in a row with no entry but a cookie for more (a real server makes progress). */
  maxEmptyPages: number;
  /** Milliseconds every operation on the connection together may take, from when it is made. */
  deadlineMs: number;
}

export const DEFAULT_BULK_READ_LIMITS: Readonly<BulkReadLimits> = {
  // A 1,500-value AD range is about 100 KB; an OpenLDAP group of 400,000 members with 44-byte DNs is 17.6 MB
  // (the sync bench at 1,000,000 users): 64 MiB takes a group of about 1.4 million such members.
  maxMessageBytes: 64 * 1024 * 1024,
  // AD may answer a page with no entry while it scans entries the filter does not match; not 100 in a row.
  maxEmptyPages: 100,
  // A million users in 1,000-entry pages take minutes; an hour is ample, and frees the sync lock in the end.
  deadlineMs: 60 * 60 * 1000,
};

/** An unpaged search other than a base search (which gets one entry) is for a few entries. */
const MAX_UNPAGED_ENTRIES = 1000;

export interface BulkSearchOptions {
  scope: 'base' | 'one' | 'sub';
  filter: Filter | string;
  attributes: string[];
  /** Attributes whose values stay Buffers (objectGUID); the rest are UTF-8 strings. */
  binaryAttributes?: readonly string[];
  controls?: Control[];
}

export interface SearchPage {
  searchEntries: Entry[];
  searchReferences: string[];
}

interface PendingOperation {
  /** Lower-case names of the attributes whose values stay Buffers. */
  binary: ReadonlySet<string>;
  onResponse(response: LdapResponse): void;
  fail(error: Error): void;
}

const NO_BINARY: ReadonlySet<string> = new Set();

/**
 * The connection the full sync reads the directory on: a socket `openLdapSocket` opened (TLS already in place
 * where it is due), a simple bind, and searches whose responses it decodes itself (ldap-message-decoder.ts).
 * Several searches may run at once (the server interleaves their responses; each is matched by message id),
 * so the groups can be read while the users' pages arrive. Anything that ends the connection, a timeout
 * included, fails every operation in progress and every later one: a read on this connection is complete or
 * it throws.
 */
export class BulkReadConnection {
  private readonly limits: BulkReadLimits;
  private readonly framer: LdapMessageFramer;
  private readonly deadline: NodeJS.Timeout;
  private readonly pending = new Map<number, PendingOperation>();
  private readonly binaryOf = (messageId: number) => this.pending.get(messageId)?.binary ?? NO_BINARY;
  private closed?: Error;
  private lastMessageId = 0;

  constructor(
    private readonly socket: net.Socket,
    /** Milliseconds an operation may wait for the server's next message. */
    private readonly timeoutMs: number,
    limits: Partial<BulkReadLimits> = {},
  ) {
    this.limits = { ...DEFAULT_BULK_READ_LIMITS, ...limits };
    this.framer = new LdapMessageFramer(this.limits.maxMessageBytes);
    const { deadlineMs } = this.limits;
    this.deadline = setTimeout(() => this.refuse(`the read took longer than ${deadlineMs} ms`), deadlineMs);
    this.deadline.unref();
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      try {
        this.framer.push(chunk, this.dispatch);
      } catch (error) {
        if (!(error instanceof LdapMessageTooLargeError)) this.fail(error as Error);
        else this.refuse(`a message of ${error.bytes} bytes, over the limit of ${error.limit} bytes`);
      }
    });
    socket.on('error', (error) => this.fail(new Error(`connection error: ${error.message}`)));
    socket.on('close', () => this.fail(new Error('Connection closed')));
  }

  bind(dn: string, password: string): Promise<void> {
    return measured('bind', () => this.sendBind(dn, password));
  }

  private async sendBind(dn: string, password: string): Promise<void> {
    const messageId = this.nextMessageId();
    await this.exchange(
      new BindRequest({ messageId, dn, password }).write(),
      messageId,
      NO_BINARY,
      (response, done) => {
        if (response.op !== LdapResponseOp.bind || !('result' in response)) return;
        const { result } = response;
        if (result.resultCode !== 0) throw resultError(messageId, result);
        done();
      },
    );
  }

  /** Every entry and reference of one (unpaged) search: at most one entry for a base search. */
  async search(baseDN: string, options: BulkSearchOptions): Promise<SearchPage> {
    const page: SearchPage = { searchEntries: [], searchReferences: [] };
    const maxEntries = options.scope === 'base' ? 1 : MAX_UNPAGED_ENTRIES;
    await this.searchOnce(baseDN, options, options.controls ?? [], page, maxEntries);
    return page;
  }

  /**
   * A paged search (RFC 2696), one page at a time. The next page is asked for as soon as a page is complete,
   * before the caller gets it: the server prepares page n+1 while the caller works on page n. A page of more
   * entries than `pageSize`, or too many empty pages in a row, fails the connection.
   */
  async *searchPages(baseDN: string, options: BulkSearchOptions, pageSize: number): AsyncGenerator<SearchPage> {
    const request = async (cookie: Buffer | undefined) => {
      const page: SearchPage = { searchEntries: [], searchReferences: [] };
      const paging = new PagedResultsControl({ value: { size: pageSize, cookie } });
      const next = await this.searchOnce(baseDN, options, [...(options.controls ?? []), paging], page, pageSize);
      return { page, next };
    };
    let pending = request(undefined);
    let emptyPages = 0;
    for (;;) {
      const { page, next } = await pending;
      if (!next?.length) {
        yield page;
        return;
      }
      emptyPages = page.searchEntries.length + page.searchReferences.length === 0 ? emptyPages + 1 : 0;
      if (emptyPages > this.limits.maxEmptyPages) {
        throw this.refuse(`${emptyPages} pages in a row had no entry, each with a cookie asking for more`);
      }
      pending = request(next);
      // A caller that stops early closes the connection, which fails this request: nobody is waiting for it.
      pending.catch(() => undefined);
      yield page;
    }
  }

  /**
   * RFC 4533 refreshOnly content synchronisation from `cookie` (none: everything) under `baseDN`. Complete or
   * it throws: ContentSyncRefreshRequiredError (start again without a cookie), ContentSyncUnavailableError (the
   * server has no content synchronisation), IncompleteDirectoryReadError for anything else.
   */
  async syncRefresh(
    baseDN: string,
    options: BulkSearchOptions,
    cookie: string | undefined,
  ): Promise<ContentSyncRefresh> {
    if (cookie === '') throw new TypeError('syncRefresh: cookie must be undefined (no cookie) or a cookie, not empty');
    const { messageId, request, binary } = this.searchRequest(baseDN, options, [
      ...(options.controls ?? []),
      new SyncRequestControl(cookie),
    ]);
    const collector = new ContentSyncCollector(cookie);
    let refresh: ContentSyncRefresh | undefined;
    try {
      await this.exchange(request.write(), messageId, binary, (response, done) => {
        try {
          if (response.op === LdapResponseOp.searchEntry && 'entry' in response) {
            collector.entry(response.entry, response.controls);
          } else if (response.op === LdapResponseOp.intermediate && 'responseName' in response) {
            collector.intermediate(response.responseName, response.responseValue);
          } else if (response.op === LdapResponseOp.searchReference) {
            throw new ContentSyncProtocolError('a referral: the entries it points at would be missing');
          } else if (response.op === LdapResponseOp.searchDone && 'result' in response) {
            refuseRefreshResult(messageId, response.result, cookie !== undefined);
            refresh = collector.done(response.controls);
            done();
          }
        } catch (error) {
          if (error instanceof ContentSyncProtocolError) throw this.refuse(error.message);
          throw error;
        }
      });
    } catch (error) {
      if (error instanceof IncompleteDirectoryReadError || error instanceof ContentSyncRefreshRequiredError)
        throw error;
      if (error instanceof ContentSyncUnavailableError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new IncompleteDirectoryReadError(`the content-sync refresh failed: ${message}`, { cause: error });
    }
    if (!refresh) throw new IncompleteDirectoryReadError('the content-sync refresh ended without its result');
    return refresh;
  }

  /**
   * A search the server keeps open, answering as the directory changes (refreshAndPersist, AD's change
   * notifications): `onMessage` gets every message but the result, which `onDone` judges (throwing rejects).
   * Resolves when the server ends the search; rejects when the connection fails. No timeout between
   * messages: a quiet directory sends nothing for hours.
   */
  persistentSearch(
    baseDN: string,
    options: BulkSearchOptions,
    onMessage: (response: LdapResponse) => void,
    onDone: (result: LdapResult, messageId: number) => void,
  ): Promise<void> {
    const { messageId, request, binary } = this.searchRequest(baseDN, options, options.controls ?? []);
    return this.exchange(
      request.write(),
      messageId,
      binary,
      (response, done) => {
        if (response.op === LdapResponseOp.searchDone && 'result' in response) {
          onDone(response.result, messageId);
          done();
        } else onMessage(response);
      },
      false,
    );
  }

  /** Unbinds and closes; never waits on a server that does not answer. */
  close(): void {
    if (!this.closed && this.socket.writable)
      this.socket.write(new UnbindRequest({ messageId: this.nextMessageId() }).write());
    this.closed ??= new Error('Connection closed');
    clearTimeout(this.deadline);
    this.socket.destroy();
  }

  /** Runs one search; fills `page` (at most `maxEntries`) and returns the paged-results cookie of its result. */
  private searchOnce(
    baseDN: string,
    options: BulkSearchOptions,
    controls: Control[],
    page: SearchPage,
    maxEntries: number,
  ): Promise<Buffer | undefined> {
    // Each page is one request on the wire, measured as one search.
    return measured('search', () => this.sendSearch(baseDN, options, controls, page, maxEntries));
  }

  private async sendSearch(
    baseDN: string,
    options: BulkSearchOptions,
    controls: Control[],
    page: SearchPage,
    maxEntries: number,
  ): Promise<Buffer | undefined> {
    const { messageId, request, binary } = this.searchRequest(baseDN, options, controls);
    let cookie: Buffer | undefined;
    await this.exchange(request.write(), messageId, binary, (response, done) => {
      if (response.op === LdapResponseOp.searchEntry && 'entry' in response) {
        // A server that streams entries past what was asked for would grow the heap until the process dies.
        if (page.searchEntries.length === maxEntries)
          throw this.refuse(`more entries than the ${maxEntries} asked for`);
        if (response.controls && hasSyncState(response.controls))
          throw this.refuse(`a Sync State control on ${response.entry.dn}, which no Sync Request asked for`);
        page.searchEntries.push(response.entry);
      } else if (response.op === LdapResponseOp.searchReference && 'uris' in response) {
        if (page.searchReferences.length >= maxEntries) throw this.refuse(`more than ${maxEntries} references`);
        for (const uri of response.uris) page.searchReferences.push(uri);
      } else if (response.op === LdapResponseOp.searchDone && 'result' in response) {
        if (response.result.resultCode !== 0) throw resultError(messageId, response.result);
        cookie = pagedResultsCookie(response.controls);
        done();
      }
    });
    return cookie;
  }

  /** A search request with the next message id, and the attributes whose values stay Buffers. */
  private searchRequest(baseDN: string, options: BulkSearchOptions, controls: Control[]) {
    const messageId = this.nextMessageId();
    const filter = typeof options.filter === 'string' ? FilterParser.parseString(options.filter) : options.filter;
    const request = new SearchRequest({
      messageId,
      baseDN,
      scope: options.scope,
      filter,
      attributes: options.attributes,
      controls,
      // No time limit asked of the server (ldapts asks for 10 s by default, which slapd enforces: a refresh of a
      // whole directory in one search takes longer). The connection's own timers bound the read.
      timeLimit: 0,
    });
    const binary = new Set((options.binaryAttributes ?? []).map((a) => a.toLowerCase()));
    return { messageId, request, binary };
  }

  /**
   * Sends one request and feeds its responses to `handle` until it calls `done`. The timer restarts with every
   * message, so a long read that keeps arriving is not cut, and a server that goes silent is.
   */
  private exchange(
    request: Buffer,
    messageId: number,
    binary: ReadonlySet<string>,
    handle: (response: LdapResponse, done: () => void) => void,
    /** Fail when the server is silent for the timeout (every read); false for a persistent search. */
    timed = true,
  ): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        if (!timed) return;
        timer = setTimeout(() => this.fail(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      };
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.pending.delete(messageId);
        if (error) reject(error);
        else resolve();
      };
      this.pending.set(messageId, {
        binary,
        onResponse: (response) => {
          arm();
          try {
            handle(response, () => finish());
          } catch (error) {
            finish(error as Error);
          }
        },
        fail: (error) => finish(error),
      });
      arm();
      this.socket.write(request);
    });
  }

  private readonly dispatch = (data: Buffer, start: number, end: number): void => {
    if (this.closed) return; // the rest of a chunk after a failure
    const response = decodeLdapMessage(data, this.binaryOf, start, end);
    if (response.messageId === 0 && response.op === LdapResponseOp.extended) {
      // Notice of disconnection (RFC 4511 4.4.1): the server is about to close.
      const detail = 'result' in response ? response.result.diagnosticMessage : '';
      this.fail(new Error(`the server ended the connection${detail ? `: ${detail}` : ''}`));
      return;
    }
    const operation = this.pending.get(response.messageId);
    if (!operation) {
      this.fail(new Error(`unexpected response to message ${response.messageId}`));
      return;
    }
    operation.onResponse(response);
  };

  /** Fails the connection with an IncompleteDirectoryReadError, which aborts the sync before it writes. */
  private refuse(reason: string): IncompleteDirectoryReadError {
    const error = new IncompleteDirectoryReadError(`refused the directory's answer: ${reason}`);
    this.fail(error);
    return error;
  }

  private fail(error: Error): void {
    clearTimeout(this.deadline);
    this.closed ??= error;
    for (const operation of [...this.pending.values()]) operation.fail(error);
    this.socket.destroy();
  }

  private nextMessageId(): number {
    this.lastMessageId = this.lastMessageId >= 0x7fffffff ? 1 : this.lastMessageId + 1;
    return this.lastMessageId;
  }
}
