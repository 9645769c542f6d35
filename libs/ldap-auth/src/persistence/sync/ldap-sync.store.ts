import { Injectable, Logger } from '@nestjs/common';
import type { AppState, SyncPlan } from '../../model/sync-plan.js';
import { TransactionRunner } from '../transaction-runner.js';
import { fillUsernameKeys } from '../username-keys.js';
import { applySyncPlan } from './apply-sync-plan.js';
import { readSyncState } from './read-sync-state.js';

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

  /**
   * Writes the plan in one transaction, set-based. Returns the ids of the groups it added members to, by
   * normalised DN (new groups included).
   */
  apply(plan: SyncPlan, organisationId: number | undefined): Promise<Map<string, number>> {
    return this.transactions.transaction(async (manager) => {
      const sql = this.transactions.dialect;
      // Rows an app wrote without a key get theirs, so the plan's checks by key see every name.
      const filled = await fillUsernameKeys((text, params = []) => manager.query(text, params), sql);
      for (const note of filled.notes) this.logger.warn(`LDAP sync: ${note}`);
      return applySyncPlan(manager, sql, plan, organisationId);
    });
  }
}
