import { SearchResponse, StatusCodeParser } from 'ldapts';
import { ContentSyncRefreshRequiredError, ContentSyncUnavailableError, SYNC_REFRESH_REQUIRED } from './content-sync.js';
import type { LdapResult } from './ldap-message-decoder.js';

/** Errors for the results the sync's connection gets (bulk-read-connection.ts). */

/** A refresh's result other than success: refresh required, no content synchronisation, or the ldapts error. */
export function refuseRefreshResult(messageId: number, result: LdapResult, withCookie: boolean): void {
  if (result.resultCode === 0) return;
  const detail = result.diagnosticMessage ? ` (${result.diagnosticMessage})` : '';
  if (result.resultCode === SYNC_REFRESH_REQUIRED) {
    throw new ContentSyncRefreshRequiredError(`the server cannot refresh from this cookie: refresh required${detail}`);
  }
  // slapd refuses a cookie newer than its own state (a restored server, another server's cookie) this way. The
  // same cookie would be refused at every run: starting over without one is the way out.
  if (result.resultCode === UNWILLING_TO_PERFORM && withCookie) {
    throw new ContentSyncRefreshRequiredError(`the server refused the cookie${detail}`);
  }
  if (result.resultCode === UNAVAILABLE_CRITICAL_EXTENSION) {
    throw new ContentSyncUnavailableError(
      `the server refused the Sync Request control (RFC 4533 content synchronisation)${detail}`,
    );
  }
  throw resultError(messageId, result);
}

const UNWILLING_TO_PERFORM = 53;
/** RFC 4511 unavailableCriticalExtension: a critical control the server does not support. */
const UNAVAILABLE_CRITICAL_EXTENSION = 12;

/** The ldapts error class for a result code, so callers see the same errors as from the other connections. */
export function resultError(messageId: number, result: LdapResult) {
  return StatusCodeParser.parse(
    new SearchResponse({
      messageId,
      status: result.resultCode,
      matchedDN: result.matchedDN,
      errorMessage: result.diagnosticMessage,
    }),
  );
}
