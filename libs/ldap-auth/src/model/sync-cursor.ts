/**
 * Where the delta sync's last run left its reads of the directory: stored as JSON in `ldap_sync_cursors`,
 * written in the same transaction as the changes it covers. Pure data and pure checks.
 */

/** The one cursor row this library keeps (one directory per app). */
export const SYNC_CURSOR_NAME = 'directory';

/** A content-synchronisation (RFC 4533) read: its cookie. */
export interface ContentSyncPosition {
  cookie: string;
}

export interface SyncCursor {
  /** How the changes are read. Only `content-sync` (OpenLDAP syncprov, RFC 4533) today. */
  method: 'content-sync';
  /**
   * What the reads asked for (search base, filters, attributes, listed groups, options): a cursor taken for
   * other reads says nothing about these, so a different fingerprint means a full read.
   */
  fingerprint: string;
  /** The read of the user entries. */
  users: ContentSyncPosition;
  /** The read of the group entries, by the base it searched. */
  groups: Record<string, ContentSyncPosition>;
  /**
   * Every group entry under those bases, uuid → normalised DN: a refresh names a deleted entry by its uuid
   * only, and a deleted group may be listed or nested.
   */
  groupDns: Record<string, string>;
}

/** The cursor as stored, or undefined (with why) when the text is not one this version wrote. */
export function parseSyncCursor(text: string): { cursor?: SyncCursor; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'the stored cursor is not JSON' };
  }
  const c = value as Partial<SyncCursor> | null;
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (
    !c ||
    c.method !== 'content-sync' ||
    typeof c.fingerprint !== 'string' ||
    !isRecord(c.users) ||
    typeof c.users.cookie !== 'string' ||
    !isRecord(c.groups) ||
    !Object.values(c.groups).every((g) => isRecord(g) && typeof g.cookie === 'string') ||
    !isRecord(c.groupDns) ||
    !Object.values(c.groupDns).every((dn) => typeof dn === 'string')
  ) {
    return { problem: 'the stored cursor is not one this version of the library wrote' };
  }
  return { cursor: c as SyncCursor };
}
