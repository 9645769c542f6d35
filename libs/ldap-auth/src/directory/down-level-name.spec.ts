import { describe, expect, it } from '@jest/globals';
import { accountNameMismatch, domainHolding, domainMismatch, parseAuthzId } from './down-level-name.js';

const EXAMPLE = { namingContext: 'dc=example,dc=test', netbiosName: 'EXAMPLE' };
const CHILD = { namingContext: 'dc=child,dc=example,dc=test', netbiosName: 'CHILD' };

describe('parseAuthzId', () => {
  it('reads the forms RFC 4532 allows, the prefix in any case', () => {
    expect(parseAuthzId('u:EXAMPLE\\alice')).toEqual({ kind: 'user', domain: 'EXAMPLE', name: 'alice' });
    expect(parseAuthzId('U:alice')).toEqual({ kind: 'user', domain: undefined, name: 'alice' });
    expect(parseAuthzId('dn:CN=Alice,DC=example,DC=test')).toEqual({ kind: 'dn', dn: 'cn=alice,dc=example,dc=test' });
    expect(parseAuthzId('DN:not a dn')).toEqual({ kind: 'dn', dn: undefined });
    expect(parseAuthzId('')).toEqual({ kind: 'anonymous' });
    expect(parseAuthzId('alice')).toEqual({ kind: 'other' });
  });
});

describe('domainHolding', () => {
  it('picks the closest naming context above the DN, whatever the order the domains were read in', () => {
    const dn = 'CN=alice,OU=Staff,DC=child,DC=example,DC=test';
    expect(domainHolding(dn, [EXAMPLE, CHILD])).toBe(CHILD);
    expect(domainHolding(dn, [CHILD, EXAMPLE])).toBe(CHILD);
    expect(domainHolding('CN=alice,CN=Users,DC=Example,DC=Test', [CHILD, EXAMPLE])).toBe(EXAMPLE);
  });

  it('matches whole RDNs only, and nothing for a DN outside every domain or not a DN at all', () => {
    expect(domainHolding('CN=alice,DC=notexample,DC=test', [EXAMPLE])).toBeUndefined();
    expect(domainHolding('CN=alice,DC=example,DC=org', [EXAMPLE])).toBeUndefined();
    expect(domainHolding('not a dn', [EXAMPLE])).toBeUndefined();
  });
});

describe('the down-level name against the entry', () => {
  it('needs a domain, an account name, and the same name ignoring case only', () => {
    expect(accountNameMismatch({ domain: 'EXAMPLE', name: 'ALICE' }, 'alice')).toBeUndefined();
    expect(accountNameMismatch({ domain: undefined, name: 'alice' }, 'alice')?.why).toMatch(/names no domain/);
    expect(accountNameMismatch({ domain: 'EXAMPLE', name: 'alice' }, null)?.why).toMatch(/no sAMAccountName/);
    // Full-width "ａlice" is another account name to this check, though NFKC would fold it to "alice".
    expect(accountNameMismatch({ domain: 'EXAMPLE', name: '\uff41lice' }, 'alice')).toBeDefined();
  });

  it("compares the NetBIOS name with the entry's domain, and marks an entry outside every domain", () => {
    const parentDn = 'CN=alice,CN=Users,DC=example,DC=test';
    expect(domainMismatch('example', parentDn, [EXAMPLE, CHILD])).toBeUndefined();
    expect(domainMismatch('CHILD', parentDn, [EXAMPLE, CHILD])).toEqual({
      why: 'the entry is in domain EXAMPLE, not CHILD',
    });
    expect(domainMismatch('EXAMPLE', 'CN=alice,DC=other,DC=test', [EXAMPLE])).toEqual({
      why: "the entry is under none of the forest's domains (EXAMPLE)",
      unplaced: true,
    });
  });
});
