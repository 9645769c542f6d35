import { Injectable, Logger } from '@nestjs/common';
import type { AppState, SyncPlan } from '../../model/sync-plan.js';
import { TransactionRunner } from '../transaction-runner.js';
import { fillUsernameKeys } from '../username-keys.js';
import { applySyncPlan } from './apply-sync-plan.js';
import { readSyncState } from './read-sync-state.js';
import { readCursorText, writeCursor } from './sync-cursor-store.js';
import type { SyncCursor } from '../../model/sync-cursor.js';

/**
 * The full sync's side of the app's tables: reads the state it reconciles, and writes a plan in ONE
 * transaction (a failure or a kill at any point leaves the database as it was). Only LDAP-managed rows
 * (non-null `ldap_uuid` / `ldap_dn`) are ever read for change or written. One run at a time: LdapSyncLock;
 * the record of runs: LdapSyncRunLog.
 */
@Injectable()
export class LdapSyncStore {
  private readonly logger = new Logger(LdapSyncStore.name);

  constructor(private readonly transactions: TransactionRunner) {}

  /** The LDAP-managed users, the managed groups of the organisation and their memberships, the local names. */
  readState(organisationId: number | undefined): Promise<AppState> {
    return readSyncState(this.transactions.dataSource.manager, this.transactions.dialect, organisationId);
  }

  /** The delta sync's stored cursor as text (undefined: none yet). */
  readCursor(): Promise<string | undefined> {
    return readCursorText(this.transactions.dataSource.manager);
  }

  /**
   * Writes the plan in one transaction, set-based, and with it the delta cursor that covers it (if any): the
   * cursor is never ahead of the tables. Returns the ids of the groups it added members to, by normalised DN
   * (new groups included).
   */
  apply(plan: SyncPlan, organisationId: number | undefined, cursor?: SyncCursor): Promise<Map<string, number>> {
    return this.transactions.transaction(async (manager) => {
      const sql = this.transactions.dialect;
      // Rows an app wrote without a key get theirs, so the plan's checks by key see every name.
      const filled = await fillUsernameKeys((text, params = []) => manager.query(text, params), sql);
      for (const note of filled.notes) this.logger.warn(`LDAP sync: ${note}`);
      const groupIds = await applySyncPlan(manager, sql, plan, organisationId);
      if (cursor) await writeCursor(manager, cursor, sql.kind === 'mysql');
      return groupIds;
    });
  }

  /** Stores a cursor when its read found nothing to write. */
  saveCursor(cursor: SyncCursor): Promise<void> {
    return this.transactions.transaction((manager) =>
      writeCursor(manager, cursor, this.transactions.dialect.kind === 'mysql'),
    );
  }
}
