import { Injectable, Logger } from '@nestjs/common';
import type { AppState, SyncPlan } from '../../model/sync-plan.js';
import { TransactionRunner } from '../transaction-runner.js';
import { fillUsernameKeys } from '../username-keys.js';
import { applySyncPlan } from './apply-sync-plan.js';
import { readSyncState } from './read-sync-state.js';
import {
  canReadScoped,
  readNotPlainRows,
  readRowsByDnKey,
  readStoredMembers,
  readPresence,
  readScopedRows,
  readScopedTotals,
  type ScopedRows,
  type ScopedRowsQuery,
  type ScopedTotals,
  type StoredMembers,
} from './read-delta-state.js';
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

  /** Whether this database can read a delta's scoped state (read-delta-state.ts); otherwise readState. */
  get canReadScoped(): boolean {
    return canReadScoped(this.transactions.dialect);
  }

  /** A delta's rows: by stable id, username key or row id, with their memberships and the colliding local names. */
  readScopedRows(organisationId: number | undefined, query: ScopedRowsQuery): Promise<ScopedRows> {
    const { dataSource, dialect } = this.transactions;
    return readScopedRows(dataSource.manager, dialect, organisationId, query);
  }

  /** The rows a present phase leaves out, and those it names whose entry was not there (read-delta-state.ts). */
  readPresence(present: readonly string[]): Promise<Array<{ uuid: string; now: boolean; before: boolean }>> {
    return readPresence(this.transactions.dataSource.manager, this.transactions.dialect, present);
  }

  /** The rows whose DN may compare otherwise than in lower case (see read-delta-state.ts). */
  readNotPlainRows(): Promise<number[]> {
    return readNotPlainRows(this.transactions.dataSource.manager, this.transactions.dialect);
  }

  /** What a delta's guards count over every row, and the managed groups. */
  readScopedTotals(organisationId: number | undefined): Promise<ScopedTotals> {
    return readScopedTotals(this.transactions.dataSource.manager, this.transactions.dialect, organisationId);
  }

  /** The LDAP members of these groups by group id, and their DNs (see read-delta-state.ts). */
  readStoredMembers(groupIds: readonly number[]): Promise<StoredMembers> {
    return readStoredMembers(this.transactions.dataSource.manager, this.transactions.dialect, groupIds);
  }

  /** The LDAP rows whose DN in lower case is one of `keys`. */
  readRowsByDnKey(keys: readonly string[]): Promise<Array<{ id: number; dn: string }>> {
    return readRowsByDnKey(this.transactions.dataSource.manager, this.transactions.dialect, keys);
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
