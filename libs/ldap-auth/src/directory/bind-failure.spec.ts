import { describe, expect, it } from '@jest/globals';
import {
  ConstraintViolationError,
  InvalidCredentialsError as LdapInvalidCredentials,
  UnwillingToPerformError,
} from 'ldapts';
import { describeBindFailure } from './bind-failure.js';

describe('describeBindFailure', () => {
  it.each([
    ['52e', 'wrong password (AD data 52e)'],
    ['533', 'account disabled (AD data 533)'],
    ['775', 'account locked (AD data 775)'],
    ['532', 'password expired (AD data 532)'],
    ['773', 'password must be changed (AD data 773)'],
  ])('reads AD sub-code %s', (code, text) => {
    const error = new LdapInvalidCredentials(
      `80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data ${code}, v4563`,
    );
    expect(describeBindFailure(error)).toBe(text);
  });

  it("keeps the server's words and code for other refusals (locked or policy-refused accounts)", () => {
    const error = new ConstraintViolationError('account locked by password policy');
    expect(describeBindFailure(error)).toBe(
      'the server refused the bind: constraintViolation (19): account locked by password policy',
    );
  });

  it('says "wrong username or password" for OpenLDAP, and names an unwilling server', () => {
    expect(describeBindFailure(new LdapInvalidCredentials('Invalid Credentials'))).toBe('wrong username or password');
    expect(
      describeBindFailure(new UnwillingToPerformError('unauthenticated bind (DN with no password) disallowed')),
    ).toMatch(/unwilling/);
  });
});
