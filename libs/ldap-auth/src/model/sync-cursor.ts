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

interface CursorCommon {
  /**
   * What the reads asked for (search base, filters, attributes, listed groups, options): a cursor taken for
   * other reads says nothing about these, so a different fingerprint means a full read.
   */
  fingerprint: string;
  /**
   * Every group entry under the group bases, uuid → normalised DN: a deleted entry is known by its uuid only
   * (or not at all), and a deleted group may be listed or nested.
   */
  groupDns: Record<string, string>;
}

/** OpenLDAP's syncprov: RFC 4533 content synchronisation with a cookie per search. */
export interface ContentSyncCursor extends CursorCommon {
  method: 'content-sync';
  /** The read of the user entries. */
  users: ContentSyncPosition;
  /** The read of the group entries, by the base it searched. */
  groups: Record<string, ContentSyncPosition>;
}

/**
 * Active Directory: the domain controller's highestCommittedUSN when the last read began. USNs are counters of
 * one DC, so the watermark means something only on that DC as it was: its NTDS Settings DN and invocationId.
 */
export interface UsnCursor extends CursorCommon {
  method: 'usn';
  /** Decimal (USNs are 64-bit). */
  usn: string;
  /** The root DSE's dsServiceName of the DC that issued `usn`. */
  dsServiceName: string;
  /** That DC's invocationId (a restore from backup gives it a new one), as GUID text. */
  invocationId: string;
}

/** Any other server: modifyTimestamp at or after `since` (GeneralizedTime, the server's clock, margin taken). */
export interface TimestampCursor extends CursorCommon {
  method: 'timestamp';
  since: string;
}

export type SyncCursor = ContentSyncCursor | UsnCursor | TimestampCursor;
export type SyncCursorMethod = SyncCursor['method'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string';

/** The cursor as stored, or undefined (with why) when the text is not one this version wrote. */
export function parseSyncCursor(text: string): { cursor?: SyncCursor; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'the stored cursor is not JSON' };
  }
  const c: Record<string, unknown> = isRecord(value) ? value : {};
  const common = isText(c.fingerprint) && isRecord(c.groupDns) && Object.values(c.groupDns).every((dn) => isText(dn));
  const valid =
    common &&
    ((c.method === 'content-sync' &&
      isRecord(c.users) &&
      isText(c.users.cookie) &&
      isRecord(c.groups) &&
      Object.values(c.groups).every((g) => isRecord(g) && isText(g.cookie))) ||
      (c.method === 'usn' &&
        isText(c.usn) &&
        /^\d+$/.test(c.usn) &&
        isText(c.dsServiceName) &&
        isText(c.invocationId)) ||
      (c.method === 'timestamp' && isText(c.since) && /^\d{14}Z$/.test(c.since)));
  if (!valid) return { problem: 'the stored cursor is not one this version of the library wrote' };
  return { cursor: value as SyncCursor };
}
