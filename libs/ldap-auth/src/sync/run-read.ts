import type { DirectorySnapshot } from '../model/directory-snapshot.js';
import type { AppState } from '../model/sync-plan.js';
import type { SyncMode } from '../model/sync-report.js';
import type { SyncCursor } from '../model/sync-cursor.js';

/** What a run read, for the reconciliation. */
export interface RunRead {
  mode: SyncMode;
  /** Why a delta run read everything. */
  modeReason?: string;
  /** Undefined when the delta saw nothing change: nothing to plan. */
  snapshot?: DirectorySnapshot;
  state?: AppState;
  /** The whole directory was read (the zero-users rule applies). */
  whole: boolean;
  /** The delta cursor covering this read: stored with the run's changes. */
  cursor?: SyncCursor;
  /** User entries read (every one for a whole read; the changed ones for a delta). */
  usersSeen: number;
  entriesRead: number;
  pages: number;
}
