import { Inject, Injectable } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { LdapSyncStore } from '../persistence/sync/ldap-sync.store.js';
import type { ReadProgress } from '../model/directory-snapshot.js';
import type { SyncMode } from '../model/sync-report.js';
import { parseSyncCursor } from '../model/sync-cursor.js';
import { normalizeDn } from '../model/dn.js';
import { DeltaUnavailableError } from '../errors/ldap-auth.errors.js';
import { composeDeltaSnapshot, type DeltaScope, nothingChanged, planDeltaRead } from './delta-snapshot.js';
import { scopeRefused } from './delta-scope.js';
import { readScopedDelta } from './scoped-delta-read.js';
import type { RunRead } from './run-read.js';

export type { RunRead } from './run-read.js';

/**
 * The two ways a run reads: the whole directory, or (a delta) what changed since the stored cursor, turned into
 * the snapshot a whole read would give (sync/delta-snapshot.ts). A delta reads everything when it cannot do
 * better, and says why.
 */
@Injectable()
export class LdapSyncReads {
  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS)
    private readonly options: ResolvedLdapAuthOptions,
    private readonly directory: LdapDirectory,
    private readonly store: LdapSyncStore,
  ) {}

  async whole(onProgress?: (progress: ReadProgress) => void): Promise<RunRead> {
    // The database is read while the directory is: neither waits for the other.
    const stateRead = this.store.readState(this.options.defaultOrganisationId);
    stateRead.catch(() => undefined);
    const snapshot = await this.directory.readSnapshot(onProgress);
    return {
      mode: 'full',
      snapshot,
      state: await stateRead,
      whole: true,
      usersSeen: snapshot.users.size,
      entriesRead: snapshot.stats.entriesRead,
      pages: snapshot.stats.pages,
    };
  }

  async delta(onProgress?: (progress: ReadProgress) => void): Promise<RunRead> {
    const text = await this.store.readCursor();
    const parsed = text === undefined ? {} : parseSyncCursor(text);
    let read;
    try {
      read = await this.directory.readChanges(parsed.cursor);
    } catch (error) {
      if (!(error instanceof DeltaUnavailableError)) throw error;
      return { ...(await this.whole(onProgress)), modeReason: error.message };
    }
    const counts = {
      usersSeen: read.changes.changedUsers.length,
      entriesRead: read.entriesRead,
      pages: 0,
    };
    const fullReason = parsed.problem ?? read.fullContent;
    const mode: SyncMode = fullReason ? 'full' : 'delta';
    // Nothing reported (the common case, every minute): the database is not even read.
    if (!fullReason && nothingChanged(read.changes)) return { mode, whole: false, cursor: read.cursor, ...counts };
    const scope = {
      ...this.scope(),
      primaryGroups: read.primaryGroupsMatter,
      activeDirectory: read.activeDirectory,
    };
    if (!fullReason && this.store.canReadScoped && !scopeRefused(read.changes, scope)) {
      const whole = async (reason: string): Promise<RunRead> => ({
        ...(await this.whole(onProgress)),
        modeReason: reason,
        cursor: read.cursor,
      });
      const scoped = await readScopedDelta(
        { directory: this.directory, store: this.store, options: this.options },
        { read, scope, counts, whole },
      );
      if (scoped) return scoped;
    }
    const state = await this.store.readState(this.options.defaultOrganisationId);
    if (!fullReason && nothingChanged(read.changes, state)) {
      return { mode, whole: false, cursor: read.cursor, ...counts };
    }
    const plan = planDeltaRead(read.changes, state, scope);
    if (plan.fullRead !== undefined) {
      // The cursor still covers what the whole read sees (it was taken before): the next delta starts there.
      return {
        ...(await this.whole(onProgress)),
        modeReason: plan.fullRead,
        cursor: read.cursor,
      };
    }
    const needsRead = plan.groupsToRead.length > 0 || plan.readLoginGroup;
    const groups = needsRead
      ? await this.directory.readGroupsFor(plan.users, plan.groupsToRead, plan.readLoginGroup)
      : undefined;
    const snapshot = composeDeltaSnapshot(plan, groups);
    counts.entriesRead += snapshot.stats.entriesRead;
    return {
      mode,
      modeReason: fullReason,
      snapshot,
      state,
      whole: !!fullReason,
      cursor: read.cursor,
      ...counts,
    };
  }

  private scope(): DeltaScope {
    const { syncedGroups, loginGroup, nestedGroups, groupMembership } = this.options;
    return {
      listedGroups: syncedGroups.map(normalizeDn),
      loginGroup: loginGroup ? normalizeDn(loginGroup) : undefined,
      nestedGroups,
      memberAttribute:
        groupMembership === 'uniqueMember' || groupMembership === 'memberUid' ? groupMembership : 'member',
      // Decided from the listed groups by the read (DeltaRead.primaryGroupsMatter).
      primaryGroups: false,
      // Told by the read (DeltaRead.activeDirectory).
      activeDirectory: false,
    };
  }
}
