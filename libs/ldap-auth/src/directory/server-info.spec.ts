import { describe, expect, it } from '@jest/globals';
import { deriveGroupSearchBase, serverInfoFromRootDse } from './server-info.js';

describe('serverInfoFromRootDse', () => {
  it('recognises Active Directory by its capability, and reads its naming contexts', () => {
    const info = serverInfoFromRootDse({
      dn: '',
      supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670'],
      supportedExtension: [],
      defaultNamingContext: 'DC=example,DC=test',
      namingContexts: ['DC=example,DC=test', 'CN=Configuration,DC=example,DC=test'],
    });
    expect(info).toEqual({
      activeDirectory: true,
      whoAmI: false,
      contentSync: false,
      changeNotifications: false,
      namingContexts: ['dc=example,dc=test', 'cn=configuration,dc=example,dc=test'],
      subschemaSubentry: undefined,
    });
  });

  it('reads an OpenLDAP root DSE (Who am I?, one naming context as a plain string)', () => {
    const info = serverInfoFromRootDse({
      dn: '',
      namingContexts: 'dc=example,dc=com',
      supportedExtension: ['1.3.6.1.4.1.1466.20037', '1.3.6.1.4.1.4203.1.11.3'],
      subschemaSubentry: 'cn=Subschema',
    });
    expect(info).toMatchObject({ activeDirectory: false, whoAmI: true, namingContexts: ['dc=example,dc=com'] });
  });

  it('sees content synchronisation (RFC 4533) where supportedControl lists the Sync Request control', () => {
    const rootDse = (supportedControl: string[]) => ({ dn: '', supportedControl, namingContexts: 'dc=example,dc=com' });
    expect(serverInfoFromRootDse(rootDse(['1.2.840.113556.1.4.319', '1.3.6.1.4.1.4203.1.9.1.1'])).contentSync).toBe(
      true,
    );
    expect(serverInfoFromRootDse(rootDse(['1.2.840.113556.1.4.319'])).contentSync).toBe(false);
  });

  it('sees AD change notifications where supportedControl lists LDAP_SERVER_NOTIFICATION_OID', () => {
    const rootDse = (supportedControl: string[]) => ({
      dn: '',
      supportedControl,
      namingContexts: 'DC=example,DC=test',
    });
    expect(
      serverInfoFromRootDse(rootDse(['1.2.840.113556.1.4.319', '1.2.840.113556.1.4.528'])).changeNotifications,
    ).toBe(true);
    expect(serverInfoFromRootDse(rootDse(['1.2.840.113556.1.4.319'])).changeNotifications).toBe(false);
  });

  it('knows nothing of a server whose root DSE could not be read', () => {
    expect(serverInfoFromRootDse(undefined)).toEqual({
      activeDirectory: false,
      whoAmI: false,
      contentSync: false,
      changeNotifications: false,
      namingContexts: [],
      subschemaSubentry: undefined,
    });
  });
});

describe('deriveGroupSearchBase', () => {
  it('goes one level above the people OU', () => {
    expect(deriveGroupSearchBase('ou=people,dc=example,dc=com', ['dc=example,dc=com'])).toBe('dc=example,dc=com');
    expect(deriveGroupSearchBase('CN=Users,DC=example,DC=test', ['dc=example,dc=test'])).toBe('dc=example,dc=test');
  });

  it('never goes above the naming context (the parent of an AD domain root does not exist)', () => {
    expect(deriveGroupSearchBase('DC=example,DC=test', ['dc=example,dc=test'])).toBe('DC=example,DC=test');
  });

  it('picks the innermost naming context that holds the search base', () => {
    expect(deriveGroupSearchBase('ou=people,o=sub,dc=example', ['dc=example', 'ou=people,o=sub,dc=example'])).toBe(
      'ou=people,o=sub,dc=example',
    );
  });

  it('cannot derive anything when no naming context holds the search base', () => {
    expect(deriveGroupSearchBase('ou=people,dc=example,dc=com', [])).toBeUndefined();
    expect(deriveGroupSearchBase('ou=people,dc=example,dc=com', ['dc=other,dc=org'])).toBeUndefined();
  });
});
