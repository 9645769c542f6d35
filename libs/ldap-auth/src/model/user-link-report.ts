import type { LinkBy, LinkConflict, ProposedLink } from './user-link-plan.js';

/**
 * What `npm run users:link -- --json` prints: how the run ended, the links proposed (dry run) or made, and
 * every row left alone with why. Pure data, like the sync's report.
 */
export interface UserLinkReport {
  /** `aborted`: the directory could not be read whole; `skipped`: a full sync held the lock; nothing was written. */
  status: 'succeeded' | 'aborted' | 'failed' | 'skipped';
  dryRun: boolean;
  by: LinkBy;
  reason?: string;
  /** User entries the directory holds (matching the filter and the login group). */
  entriesRead: number;
  /** App users without a directory link when the run started. */
  localUsers: number;
  /** Dry run: the links a real run would make; otherwise the links made. */
  links: ProposedLink[];
  conflicts: LinkConflict[];
  /** Links written (0 in a dry run). */
  linked: number;
  /** Entries whose values do not fit the columns (as the full sync notes them). */
  notes: string[];
  durationMs: number;
}
