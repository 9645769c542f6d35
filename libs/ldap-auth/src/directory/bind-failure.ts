import type { ResultCodeError } from 'ldapts';
import type { LoginFailureCode } from '../errors/ldap-auth.errors.js';
import { describeLdapResult } from '../model/ldap-result-codes.js';

/** Active Directory's sub-codes in a failed bind's message (`... data 52e, ...`). */
const AD_BIND_SUBCODES: Record<string, string> = {
  '525': 'user not found',
  '52e': 'wrong password',
  '530': 'not permitted to log on at this time',
  '531': 'not permitted to log on at this workstation',
  '532': 'password expired',
  '533': 'account disabled',
  '701': 'account expired',
  '773': 'password must be changed',
  '775': 'account locked',
};

const AD_SUBCODE_CODES: Record<string, LoginFailureCode> = {
  '525': 'wrong_credentials',
  '52e': 'wrong_credentials',
  '530': 'logon_restricted',
  '531': 'logon_restricted',
  '532': 'password_expired',
  '533': 'account_disabled',
  '701': 'account_expired',
  '773': 'password_must_change',
  '775': 'account_locked',
};

/** Why a bind was refused, as a code (see LoginFailureCode). */
export function bindFailureCode(error: ResultCodeError): LoginFailureCode {
  const sub = /\bdata ([0-9a-f]{3,4})\b/i.exec(error.message)?.[1]?.toLowerCase();
  if (sub && AD_SUBCODE_CODES[sub]) return AD_SUBCODE_CODES[sub];
  return error.code === 49 ? 'wrong_credentials' : 'bind_refused';
}

/** Why a bind was refused, in words for the log (never for the client). */
export function describeBindFailure(error: ResultCodeError): string {
  const sub = /\bdata ([0-9a-f]{3,4})\b/i.exec(error.message)?.[1]?.toLowerCase();
  if (sub && AD_BIND_SUBCODES[sub]) return `${AD_BIND_SUBCODES[sub]} (AD data ${sub})`;
  if (error.code === 49) return 'wrong username or password';
  if (error.code === 53) return 'the server refused the bind (unwilling to perform)';
  // Other codes (19 constraint violation and 48 inappropriate authentication are used for locked or
  // policy-refused accounts; 8 means the server wants TLS): the code in words, and the server's own words.
  return `the server refused the bind: ${describeLdapResult(error)}`;
}
