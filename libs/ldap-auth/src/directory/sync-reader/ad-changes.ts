import { GreaterThanEqualsFilter } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import type { DeltaStart, MethodRead } from './delta-common.js';
import { firstValue, readChangedUsers, scanGroups, scanPresentUsers } from './watermark-changes.js';
import type { ServerInfo } from '../server-info.js';
import { objectGuidText } from '../active-directory.js';
import { tryNormalizeDn } from '../../model/dn.js';
import type { Entry } from '../../model/directory-user.js';
import type { UsnCursor } from '../../model/sync-cursor.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';

/**
 * Active Directory: the entries whose uSNChanged is above the stored watermark, and a scan of every user
 * entry's objectGUID (and userAccountControl) for what is gone. Why not DirSync or the Deleted Objects
 * container: docs/operations.md "Delta sync" (both need rights an ordinary read-only account lacks; Samba
 * refuses DirSync with insufficientAccessRights and shows that account no tombstone, silently). USNs are one
 * DC's counter: the watermark holds only on the DC that issued it, as it was (not restored from a backup).
 */
export async function readUsnChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  stored: UsnCursor | undefined,
  start: DeltaStart,
): Promise<MethodRead> {
  // Read first: whatever is committed while the reads run is above it, and read again next time.
  const dc = await readDcState(client);
  let { fullContent } = start;
  let cursor = stored;
  const mismatch = cursor && dcMismatch(cursor, dc);
  if (mismatch) {
    fullContent = mismatch;
    cursor = undefined;
  }
  const since = cursor ? String(BigInt(cursor.usn) + 1n) : undefined;
  const changedSince = since ? new GreaterThanEqualsFilter({ attribute: 'uSNChanged', value: since }) : undefined;
  const watermark = cursor ? BigInt(cursor.usn) : 0n;
  // Group membership lives on the group entry: adding or removing a member raises its uSNChanged. A member
  // renamed, moved or deleted rewrites the value without raising it (seen on Samba): the planner re-reads
  // the groups of renamed rows, and drops the gone ones from the rest. On AD only group entries hold members,
  // and objectClass is indexed where a presence filter on member is not (a scan of the whole domain).
  const groupChanged = (entry: Entry) => {
    const usn = firstValue(entry, 'usnchanged');
    return usn === undefined || !/^\d+$/.test(usn) || BigInt(usn) > watermark;
  };
  // One after the other: slapd refuses a second paged search on a connection while one is in progress.
  const changed = await readChangedUsers(client, server, options, changedSince, []);
  const presence = cursor ? await scanPresentUsers(client, server, options) : undefined;
  const groups = await scanGroups(
    client,
    server,
    options,
    cursor?.groupDns,
    ['uSNChanged'],
    groupChanged,
    '(objectClass=group)',
  );
  return {
    changes: {
      changedUsers: changed.users,
      // Without a watermark every entry came as changed: nothing else is there.
      presentUsers: presence?.present ?? new Set(),
      disabledUsers: presence?.disabled ?? new Set(),
      deletedUsers: new Set(),
      changedGroups: groups.changed,
    },
    cursor: {
      method: 'usn',
      fingerprint: start.fingerprint,
      usn: dc.usn,
      dsServiceName: dc.dsServiceName,
      invocationId: dc.invocationId,
      groupDns: groups.groupDns,
    },
    fullContent,
    entriesRead: changed.users.length + (presence?.entriesRead ?? 0) + groups.entries.length,
  };
}

interface DcState {
  usn: string;
  dsServiceName: string;
  invocationId: string;
}

/** The DC answering: its highestCommittedUSN, NTDS Settings DN and invocationId. */
async function readDcState(client: BulkReadConnection): Promise<DcState> {
  const attributes = ['dsServiceName', 'highestCommittedUSN'];
  const [dse] = (await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes })).searchEntries;
  const dsServiceName = dse && firstValue(dse, 'dsservicename');
  const usn = dse && firstValue(dse, 'highestcommittedusn');
  if (!dsServiceName || !usn || !/^\d+$/.test(usn)) {
    // Without them the watermark cannot be tied to a DC: the run reads everything instead.
    throw new DeltaUnavailableError('the root DSE has no dsServiceName or highestCommittedUSN (not a DC?)');
  }
  const search = { scope: 'base' as const, filter: '(objectClass=*)', attributes: ['invocationId'] };
  const [ntds] = (await client.search(dsServiceName, { ...search, binaryAttributes: ['invocationId'] })).searchEntries;
  const invocationId = ntds && objectGuidText(ntds['invocationid']);
  if (!invocationId)
    throw new DeltaUnavailableError(`the sync account cannot read the invocationId of ${dsServiceName}`);
  return { usn, dsServiceName, invocationId };
}

/** Why the stored watermark says nothing about this DC now (undefined: it does). */
function dcMismatch(cursor: UsnCursor, dc: DcState): string | undefined {
  const same = (a: string, b: string) => (tryNormalizeDn(a) ?? a) === (tryNormalizeDn(b) ?? b);
  if (!same(cursor.dsServiceName, dc.dsServiceName)) {
    return `another domain controller answered (${dc.dsServiceName}); the stored USN watermark is ${cursor.dsServiceName}'s`;
  }
  if (cursor.invocationId !== dc.invocationId) {
    return `the domain controller's invocationId changed (restored from a backup?): the stored USN watermark is not its`;
  }
  if (BigInt(dc.usn) < BigInt(cursor.usn)) {
    return `the stored USN watermark (${cursor.usn}) is ahead of the domain controller's highestCommittedUSN (${dc.usn})`;
  }
  return undefined;
}
