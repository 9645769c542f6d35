/**
 * LDAP result codes (RFC 4511 appendix A, and RFC 3909's cancel codes) by number, with the RFC's names, so a
 * person reads `noSuchObject (32)` rather than ldapts's ` Code: 0x20`.
 */
const RESULT_CODE_NAMES: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  5: 'compareFalse',
  6: 'compareTrue',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  14: 'saslBindInProgress',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  33: 'aliasProblem',
  34: 'invalidDNSyntax',
  36: 'aliasDereferencingProblem',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
  118: 'canceled',
  119: 'noSuchOperation',
  120: 'tooLate',
  121: 'cannotCancel',
};

/** The RFC's name of a result code, e.g. `noSuchObject` for 32; `unknown result code` for one it does not define. */
export function ldapResultName(code: number): string {
  return RESULT_CODE_NAMES[code] ?? 'unknown result code';
}

/** A result code in words and number: `noSuchObject (32)`. */
export function describeLdapResultCode(code: number): string {
  return `${ldapResultName(code)} (${code})`;
}

/**
 * An LDAP error answer for a person: the code in words, then the server's own message when it sent one:
 * `noSuchObject (32)`, `sizeLimitExceeded (4): Size Limit Exceeded`. ldapts's ` Code: 0xNN` suffix is dropped.
 */
export function describeLdapResult(error: { code: number; message: string }): string {
  const words = error.message
    .split('\n')[0]
    .replace(/\s*Code: 0x[0-9a-f]+\s*$/i, '')
    .trim();
  const code = describeLdapResultCode(error.code);
  return words ? `${code}: ${words}` : code;
}
