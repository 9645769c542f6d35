/**
 * `--max-message-mb N` (sync.bench.ts) reaches the child processes as BENCH_MAX_MESSAGE_BYTES: the library's
 * sync refuses any LDAP message over 16 MiB (DEFAULT_BULK_READ_LIMITS, no option of its own), and at 1,000,000
 * users the bench's largest group (400,000 member values) is one message of 17.6 MB. Raised here only to measure
 * what the sync would cost past that limit; the bench prints that it was raised.
 */
import { SearchRequest } from 'ldapts';
import {
  DEFAULT_BULK_READ_LIMITS,
  type BulkReadLimits,
} from '../libs/ldap-auth/src/directory/sync-reader/bulk-read-connection.js';

export function applyBenchReadLimits(): void {
  applyBenchSearchTimeLimit();
  const bytes = Number(process.env.BENCH_MAX_MESSAGE_BYTES ?? '');
  if (!Number.isInteger(bytes) || bytes <= 0) return;
  // Every BulkReadConnection copies the defaults when it is made: set before the app starts.
  (DEFAULT_BULK_READ_LIMITS as BulkReadLimits).maxMessageBytes = bytes;
}

/**
 * BENCH_NO_SEARCH_TIME_LIMIT=1: the library's searches ask the server for no time limit. Its bulk reads build
 * ldapts SearchRequests without `timeLimit`, and ldapts then asks for 10 s: a content-sync refresh without a
 * cookie (a first delta) is one search over every entry, which slapd ends with timeLimitExceeded (3) past 10 s
 * (at 1,000,000 users). Patched here only to measure past it; the bench prints that it was.
 */
export function applyBenchSearchTimeLimit(): void {
  if (process.env.BENCH_NO_SEARCH_TIME_LIMIT !== '1') return;
  const proto = SearchRequest.prototype as unknown as { writeMessage(writer: unknown): void; timeLimit: number };
  const write = proto.writeMessage;
  proto.writeMessage = function (this: { timeLimit: number }, writer: unknown) {
    this.timeLimit = 0;
    write.call(this, writer);
  };
}
