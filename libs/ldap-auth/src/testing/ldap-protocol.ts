/** LDAP result codes, control OIDs and scopes the embedded directory speaks, and how an operation ends. */

export const RESULT = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  unavailableCriticalExtension: 12,
  noSuchAttribute: 16,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unwillingToPerform: 53,
  other: 80,
} as const;

/** RFC 2696 simple paged results. */
export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
/** AD's LDAP_SERVER_DOMAIN_SCOPE_OID: no continuation references in the answer. */
export const DOMAIN_SCOPE_OID = '1.2.840.113556.1.4.1339';
/** AD's LDAP_SERVER_RANGE_OPTION_OID: not a control, only advertised in the root DSE. */
export const RANGE_OPTION_OID = '1.2.840.113556.1.4.802';
/** AD's LDAP_SERVER_RANGE_RETRIEVAL_NOERR_OID: a range past the last link value is not an error. */
export const RANGE_RETRIEVAL_NOERR_OID = '1.2.840.113556.1.4.1948';

/** Controls a client may mark critical; any other critical control fails the search. */
export const SUPPORTED_SEARCH_CONTROLS: ReadonlySet<string> = new Set([
  PAGED_RESULTS_OID,
  DOMAIN_SCOPE_OID,
  RANGE_RETRIEVAL_NOERR_OID,
]);

export const SCOPE_BASE = 0;
export const SCOPE_ONE = 1;

/** How an operation ends: a result code for the client, or (a simulated crash) no answer at all. */
export type Outcome = { code: number; message?: string; matchedDN?: string } | { dropConnection: true };

/** Thrown anywhere below an operation to end it with this result code. */
export class LdapResultError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = this.constructor.name;
  }
}
