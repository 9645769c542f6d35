/** The LDAP reads behind the bound-identity check (bound-identity.ts), on an ldapts client. */
import { type Client, ResultCodeError } from 'ldapts';
import { describeLdapResult } from '../model/ldap-result-codes.js';
import { firstValue } from '../model/directory-user.js';
import { tryNormalizeDn } from '../model/dn.js';
import type { BoundConnection } from './bound-identity.js';
import type { ForestDomain, ForestDomainsRead } from './down-level-name.js';
import { type ServerInfo, WHO_AM_I_OID } from './server-info.js';

/** The check's view of a connection bound as a user; `url` keys the forest's domains in `domains`. */
export function boundConnectionOf(
  client: Client,
  server: ServerInfo,
  url: string,
  domains: ForestDomainCache,
): BoundConnection {
  return {
    activeDirectory: server.activeDirectory,
    whoAmISupported: server.whoAmI,
    tokenSids: () => readTokenSids(client),
    whoAmI: async () => (await client.exop(WHO_AM_I_OID)).value ?? '',
    forestDomains: (fresh) => domains.read(url, client, fresh),
  };
}

/**
 * The forest's domains per server URL, read once: every login that reaches "Who am I?" needs them, and they
 * change only when a domain is added (then `fresh` reads again). A failed read is not kept.
 */
export class ForestDomainCache {
  private readonly byUrl = new Map<string, Promise<ForestDomainsRead>>();

  read(url: string, client: Client, fresh: boolean): Promise<ForestDomainsRead> {
    const kept = this.byUrl.get(url);
    if (kept && !fresh) return kept;
    const reading = readForestDomains(client);
    this.byUrl.set(url, reading);
    const forget = () => {
      if (this.byUrl.get(url) === reading) this.byUrl.delete(url);
    };
    reading.then((read) => ('unreadable' in read ? forget() : undefined), forget);
    return reading;
  }
}

/**
 * The forest's domains from its partitions container: one crossRef per naming context, and a domain's has
 * nETBIOSName (its down-level name) beside nCName (its DN). Readable by any authenticated user on AD.
 */
export async function readForestDomains(client: Client): Promise<ForestDomainsRead> {
  let partitions = 'CN=Partitions under the configurationNamingContext';
  try {
    const { searchEntries: rootDse } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['configurationNamingContext'],
    });
    const configuration = rootDse[0] ? firstValue(rootDse[0], 'configurationNamingContext') : null;
    if (!configuration) return { unreadable: 'the root DSE names no configurationNamingContext' };
    partitions = `CN=Partitions,${configuration}`;
    const { searchEntries } = await client.search(partitions, {
      scope: 'one',
      filter: '(&(objectClass=crossRef)(nETBIOSName=*))',
      attributes: ['nCName', 'nETBIOSName'],
    });
    const domains = searchEntries.flatMap((entry): ForestDomain[] => {
      const namingContext = tryNormalizeDn(firstValue(entry, 'nCName') ?? '');
      const netbiosName = firstValue(entry, 'nETBIOSName');
      return namingContext && netbiosName ? [{ namingContext, netbiosName }] : [];
    });
    if (domains.length === 0) return { unreadable: `no domain crossRef (nETBIOSName, nCName) in ${partitions}` };
    return { domains };
  } catch (error) {
    if (error instanceof ResultCodeError) return { unreadable: `${partitions}: ${describeLdapResult(error)}` };
    throw error;
  }
}

/** The SIDs in the bound identity's token (AD's root DSE tokenGroups: the user's own and its groups'). */
export async function readTokenSids(client: Client): Promise<Buffer[] | undefined> {
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['tokenGroups'],
      explicitBufferAttributes: ['tokenGroups'],
    });
    const value = searchEntries[0]?.tokenGroups;
    return (Array.isArray(value) ? value : [value]).filter((v): v is Buffer => Buffer.isBuffer(v));
  } catch (error) {
    if (error instanceof ResultCodeError) return undefined;
    throw error;
  }
}
