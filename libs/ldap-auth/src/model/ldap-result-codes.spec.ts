import { describe, expect, it } from '@jest/globals';
import { InsufficientAccessError, NoSuchObjectError, SizeLimitExceededError } from 'ldapts';
import { describeLdapResult, describeLdapResultCode, ldapResultName } from './ldap-result-codes.js';

describe('LDAP result codes in words', () => {
  it.each([
    [0, 'success'],
    [4, 'sizeLimitExceeded'],
    [32, 'noSuchObject'],
    [49, 'invalidCredentials'],
    [50, 'insufficientAccessRights'],
    [53, 'unwillingToPerform'],
    [80, 'other'],
  ])('names code %i %s (RFC 4511)', (code, name) => {
    expect(ldapResultName(code)).toBe(name);
    expect(describeLdapResultCode(code)).toBe(`${name} (${code})`);
  });

  it('says so for a code RFC 4511 does not define', () => {
    expect(describeLdapResultCode(9)).toBe('unknown result code (9)');
  });

  it("replaces ldapts's hexadecimal suffix by the name, and keeps the server's words", () => {
    // What the sync used to report: "the directory read failed:  Code: 0x20".
    expect(describeLdapResult(new NoSuchObjectError(''))).toBe('noSuchObject (32)');
    expect(describeLdapResult(new SizeLimitExceededError('Size Limit Exceeded'))).toBe(
      'sizeLimitExceeded (4): Size Limit Exceeded',
    );
    expect(describeLdapResult(new InsufficientAccessError('no read access to ou=people'))).toBe(
      'insufficientAccessRights (50): no read access to ou=people',
    );
  });
});
