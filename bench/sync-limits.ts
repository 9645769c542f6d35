/**
 * `--max-message-mb N` (sync.bench.ts) reaches the child processes as BENCH_MAX_MESSAGE_BYTES: the library's
 * sync refuses any LDAP message over 16 MiB (DEFAULT_BULK_READ_LIMITS, no option of its own), and at 1,000,000
 * users the bench's largest group (400,000 member values) is one message of 17.6 MB. Raised here only to measure
 * what the sync would cost past that limit; the bench prints that it was raised.
 */
import {
  DEFAULT_BULK_READ_LIMITS,
  type BulkReadLimits,
} from '../libs/ldap-auth/src/directory/sync-reader/bulk-read-connection.js';

export function applyBenchReadLimits(): void {
  const bytes = Number(process.env.BENCH_MAX_MESSAGE_BYTES ?? '');
  if (!Number.isInteger(bytes) || bytes <= 0) return;
  // Every BulkReadConnection copies the defaults when it is made: set before the app starts.
  (DEFAULT_BULK_READ_LIMITS as BulkReadLimits).maxMessageBytes = bytes;
}
