/** The LDAP reads behind the bound-identity check (bound-identity.ts), on an ldapts client. */
import { type Client, ResultCodeError } from 'ldapts';
import type { BoundConnection } from './bound-identity.js';
import { type ServerInfo, WHO_AM_I_OID } from './server-info.js';

/** The check's view of a connection bound as a user. */
export function boundConnectionOf(
  client: Client,
  server: ServerInfo,
  activeDirectoryDomain: string | undefined,
): BoundConnection {
  return {
    activeDirectory: server.activeDirectory,
    whoAmISupported: server.whoAmI,
    activeDirectoryDomain,
    tokenSids: () => readTokenSids(client),
    whoAmI: async () => (await client.exop(WHO_AM_I_OID)).value ?? '',
  };
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
