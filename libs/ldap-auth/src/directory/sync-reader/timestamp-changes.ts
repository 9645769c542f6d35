import { GreaterThanEqualsFilter } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import type { DeltaStart, MethodRead } from './delta-common.js';
import { firstValue, readChangedUsers, scanGroups, scanPresentUsers } from './watermark-changes.js';
import type { ServerInfo } from '../server-info.js';
import type { Entry } from '../../model/directory-user.js';
import type { TimestampCursor } from '../../model/sync-cursor.js';
import { formatGeneralizedTime, parseGeneralizedTime } from '../../model/generalized-time.js';

const TIMESTAMP = 'modifyTimestamp';
const TIMESTAMP_KEY = TIMESTAMP.toLowerCase();
/**
 * How far behind the newest modifyTimestamp seen the next read starts. The watermark is the server's clock,
 * never ours, but an entry written while the last read ran may carry an earlier second than one it saw, and a
 * change replicated from another server carries that server's time: entries within the margin are read
 * again (and change nothing a second time).
 */
export const TIMESTAMP_MARGIN_MS = 5 * 60_000;
const EPOCH = '19700101000000Z';

/**
 * Any other server (no content synchronisation, not AD): the user entries whose modifyTimestamp is at or
 * after the stored watermark, and a scan of every user entry's stable id for what is gone (deleted, or moved
 * out of the search base: neither leaves a timestamp behind).
 */
export async function readTimestampChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  cursor: TimestampCursor | undefined,
  start: DeltaStart,
): Promise<MethodRead> {
  const changedSince = cursor ? new GreaterThanEqualsFilter({ attribute: TIMESTAMP, value: cursor.since }) : undefined;
  const since = cursor ? parseGeneralizedTime(cursor.since)! : 0;
  // No readable timestamp on a group: nothing says it did not change.
  const groupChanged = (entry: Entry) => (timestampOf(entry) ?? since) >= since;
  // One after the other: slapd refuses a second paged search on a connection while one is in progress.
  const changed = await readChangedUsers(client, server, options, changedSince, [TIMESTAMP]);
  const presence = cursor ? await scanPresentUsers(client, server, options) : undefined;
  const groups = await scanGroups(client, server, options, cursor?.groupDns, [TIMESTAMP], groupChanged);
  let newest = since;
  for (const entry of [...changed.entries, ...groups.entries]) newest = Math.max(newest, timestampOf(entry) ?? 0);
  const next = newest > since ? formatGeneralizedTime(Math.max(since, newest - TIMESTAMP_MARGIN_MS)) : undefined;
  return {
    changes: {
      changedUsers: changed.users,
      // Without a watermark every entry came as changed: nothing else is there.
      presentUsers: presence?.present ?? new Set(),
      deletedUsers: new Set(),
      changedGroups: groups.changed,
    },
    cursor: {
      method: 'timestamp',
      fingerprint: start.fingerprint,
      since: next ?? cursor?.since ?? EPOCH,
      groupDns: groups.groupDns,
    },
    fullContent: start.fullContent,
    entriesRead: changed.users.length + (presence?.entriesRead ?? 0) + groups.entries.length,
  };
}

function timestampOf(entry: Entry): number | undefined {
  const text = firstValue(entry, TIMESTAMP_KEY);
  return text === undefined ? undefined : parseGeneralizedTime(text);
}
