import type * as net from 'node:net';
import { Client, type Entry, NoSuchObjectError, ResultCodeError, SizeLimitExceededError } from 'ldapts';
import { clientOnSocket } from './ldap-socket.js';
import { BrokenRangeError, rangedValueChunks, searchControls, userEntriesFilter } from './active-directory.js';
import { describeBindFailure } from './bind-failure.js';
import { canonicalGid, GID_ATTRIBUTE } from './posix-groups.js';
import { ROOT_DSE_ATTRIBUTES, type ServerInfo, serverInfoFromRootDse } from './server-info.js';
import { type ConnectionSettings, openCheckSocket, type TlsDetails } from './check-tls.js';
import { allValues, firstValue } from '../model/directory-user.js';
import { firstRdnValue } from '../model/dn.js';
import { describeLdapResult } from '../model/ldap-result-codes.js';

/**
 * The LDAP connection of `npm run ldap:check` (its steps are in check/) and the few reads the check makes.
 * Nothing here decides what is ok; it reports what happened, errors included, in plain data.
 */

/** Directory errors of the check's reads, with the LDAP result code when the server answered with one. */
export class CheckLdapError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'CheckLdapError';
  }
}

export type BindOutcome = { ok: true } | { ok: false; code: number; reason: string };

export interface RootDseDetails {
  /** The server answered the root DSE read (an empty answer or a refusal leaves this false). */
  readable: boolean;
  server: ServerInfo;
  /** Naming contexts as the server spells them (defaultNamingContext first on AD). */
  namingContexts: string[];
  vendor?: string;
  dnsHostName?: string;
}

export interface EntryCount {
  /** Entries counted (a lower bound unless `complete`). */
  count: number;
  pages: number;
  complete: boolean;
  /** Why counting stopped early: the cap was reached, or the server's size limit (code 4). */
  stoppedBy?: 'cap' | 'sizeLimit';
  /** Continuation references the server returned (not followed). */
  referrals: number;
  filter: string;
}

export interface GroupDetails {
  dn: string;
  name: string;
  objectClasses: string[];
  /** The entry is of a group class (group, groupOfNames, groupOfUniqueNames, posixGroup). */
  isGroup: boolean;
  /** Values of the member attribute (direct members), AD's ranged retrieval followed. */
  memberValues: number;
  /** A posixGroup's gidNumber (not on AD): its primary-group users are members too (see posix-groups.ts). */
  gidNumber?: string;
}

const GROUP_CLASSES = ['group', 'groupofnames', 'groupofuniquenames', 'posixgroup'];
/** Most ranged-retrieval rounds followed for one group's members (1,500 values each on AD). */
const MAX_RANGE_ROUNDS = 10_000;

/**
 * Opens a connection as the library does (see openCheckSocket) and hands it to an ldapts client.
 * Throws CheckOpenError.
 */
export async function openCheckConnection(url: string, settings: ConnectionSettings): Promise<CheckConnection> {
  const { socket, tls } = await openCheckSocket(url, settings);
  return new CheckConnection(url, socket, settings, tls);
}

/**
 * One LDAP connection of the check, on a socket opened by openCheckConnection. It may use that one
 * socket only (no silent reconnection without TLS), like the library's pooled connections.
 */
export class CheckConnection {
  private readonly client: Client;
  private server?: ServerInfo;

  constructor(
    readonly url: string,
    private readonly socket: net.Socket,
    settings: ConnectionSettings,
    /** Set on `ldaps://` and StartTLS connections. */
    readonly tls?: TlsDetails,
  ) {
    this.client = clientOnSocket(url, socket, { timeout: settings.timeoutMs, connectTimeout: settings.openDeadlineMs });
  }

  /** The root DSE, read before any bind (as the library does on every new connection). */
  async readRootDse(): Promise<RootDseDetails> {
    let entry: Entry | undefined;
    try {
      const { searchEntries } = await this.client.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [...ROOT_DSE_ATTRIBUTES, 'vendorName', 'vendorVersion', 'dnsHostName'],
      });
      entry = searchEntries[0];
    } catch (error) {
      if (!(error instanceof ResultCodeError)) throw asLdapError(error);
    }
    this.server = serverInfoFromRootDse(entry);
    const spelled = entry
      ? [...(allValues(entry, 'defaultNamingContext') ?? []), ...(allValues(entry, 'namingContexts') ?? [])]
      : [];
    const vendor = entry ? [firstValue(entry, 'vendorName'), firstValue(entry, 'vendorVersion')].filter(Boolean) : [];
    return {
      readable: !!entry,
      server: this.server,
      namingContexts: [...new Set(spelled)],
      vendor: vendor.length ? vendor.join(' ') : undefined,
      dnsHostName: entry ? (firstValue(entry, 'dnsHostName') ?? undefined) : undefined,
    };
  }

  /** A simple bind; a refusal is an outcome, anything else (a lost connection, a timeout) throws. */
  async bind(dn: string, password: string): Promise<BindOutcome> {
    // Servers treat a name with an empty password as an anonymous bind: never send one.
    if (!password) return { ok: false, code: 49, reason: 'empty password (not sent)' };
    try {
      await this.client.bind(dn, password);
      return { ok: true };
    } catch (error) {
      if (error instanceof ResultCodeError) return { ok: false, code: error.code, reason: describeBindFailure(error) };
      throw asLdapError(error);
    }
  }

  /** Whether an entry exists (a base search; code 32 means no). */
  async entryExists(dn: string): Promise<boolean> {
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['1.1'],
      });
      return searchEntries.length > 0;
    } catch (error) {
      if (error instanceof NoSuchObjectError) return false;
      throw asLdapError(error);
    }
  }

  /**
   * Counts the user entries under `base` as the sync reads them (objectClass, and objectCategory=person on
   * AD), page by page, stopping once `cap` is reached.
   */
  async countUsers(base: string, objectClass: string, options: { pageSize: number; cap: number }): Promise<EntryCount> {
    const filter = userEntriesFilter(objectClass, this.server);
    const result: EntryCount = { count: 0, pages: 0, complete: false, referrals: 0, filter: filter.toString() };
    const pages = this.client.searchPaginated(
      base,
      { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: options.pageSize } },
      searchControls(this.server),
    );
    try {
      for await (const page of pages) {
        result.pages++;
        result.count += page.searchEntries.length;
        result.referrals += page.searchReferences.length;
        if (result.count >= options.cap) {
          result.stoppedBy = 'cap';
          return result;
        }
      }
    } catch (error) {
      if (error instanceof SizeLimitExceededError) {
        result.stoppedBy = 'sizeLimit';
        return result;
      }
      throw asLdapError(error);
    }
    result.complete = true;
    return result;
  }

  /** A group entry with the number of values of its member attribute; undefined when it does not exist. */
  async readGroup(dn: string, memberAttribute: string): Promise<GroupDetails | undefined> {
    let entry: Entry | undefined;
    try {
      const { searchEntries } = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['cn', 'objectClass', memberAttribute, GID_ATTRIBUTE],
      });
      entry = searchEntries[0];
    } catch (error) {
      if (error instanceof NoSuchObjectError) return undefined;
      throw asLdapError(error);
    }
    if (!entry) return undefined;
    const objectClasses = allValues(entry, 'objectClass') ?? [];
    const posix = !this.server?.activeDirectory && objectClasses.some((c) => c.toLowerCase() === 'posixgroup');
    return {
      dn: entry.dn,
      name: firstValue(entry, 'cn') ?? firstRdnValue(entry.dn),
      objectClasses,
      isGroup: objectClasses.some((c) => GROUP_CLASSES.includes(c.toLowerCase())),
      memberValues: await this.countMemberValues(entry, memberAttribute),
      gidNumber: posix ? canonicalGid(firstValue(entry, GID_ATTRIBUTE)) : undefined,
    };
  }

  /** Values of `attribute`, following AD's ranged retrieval (`member;range=0-1499`, then `1500-*`...). */
  private async countMemberValues(entry: Entry, attribute: string): Promise<number> {
    const readFrom = async (from: number) => {
      const { searchEntries } = await this.client.search(entry.dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: [`${attribute};range=${from}-*`],
      });
      return searchEntries[0];
    };
    let count = 0;
    let rounds = 0;
    try {
      for await (const chunk of rangedValueChunks(entry, attribute, readFrom)) {
        count += chunk.length;
        if (++rounds > MAX_RANGE_ROUNDS) break;
      }
    } catch (error) {
      if (error instanceof BrokenRangeError) {
        throw new CheckLdapError(`ranged retrieval of ${attribute} on ${entry.dn} did not continue at ${error.from}`);
      }
      throw asLdapError(error);
    }
    return count;
  }

  /** Unbinds politely, never waiting on a peer that does not answer. */
  async close(): Promise<void> {
    const unbound = this.client.isConnected ? this.client.unbind().catch(() => undefined) : undefined;
    this.socket.destroy();
    await unbound;
  }
}

function asLdapError(error: unknown): CheckLdapError {
  if (error instanceof CheckLdapError) return error;
  if (error instanceof ResultCodeError) {
    return new CheckLdapError(describeLdapResult(error), error.code);
  }
  return new CheckLdapError(error instanceof Error ? error.message : String(error));
}
