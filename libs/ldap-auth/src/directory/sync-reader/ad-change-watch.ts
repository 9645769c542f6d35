import { Control } from 'ldapts';
import type { BulkReadConnection } from './bulk-read-connection.js';
import { groupBases } from './delta-common.js';
import { type LdapResponse, LdapResponseOp, type LdapResult } from './ldap-message-decoder.js';
import { resultError } from './result-errors.js';
import type { SnapshotReadOptions } from './snapshot-reader.js';
import { CHANGE_NOTIFICATION_OID, isWithin, type ServerInfo } from '../server-info.js';
import { allValues, type Entry } from '../../model/directory-user.js';
import { tryNormalizeDn } from '../../model/dn.js';
import { DeltaUnavailableError } from '../../errors/ldap-auth.errors.js';

/** AD answers adminLimitExceeded past five notification searches on one connection (MaxNotificationPerConn). */
export const MAX_NOTIFICATION_SEARCHES = 5;

/** Results that mean "no notifications for this account, here": asking again would be refused again. */
const REFUSALS: Record<number, string> = {
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  50: 'insufficientAccessRights',
  53: 'unwillingToPerform',
};

/**
 * Active Directory's change notifications (LDAP_SERVER_NOTIFICATION_OID): one subtree search per base (the
 * user search base, and the naming contexts of the listed groups, where the delta reads groups; a base inside
 * another is left to it). AD sends the entry, as it is now, each time one in scope is written; it allows no
 * filter but (objectClass=*), so the entries that cannot change what the delta reads are dropped here, and
 * any other entry calls `onChange`. A deletion is not sent to an ordinary account (the tombstone is hidden
 * from it): the polled delta finds it. Once the server has taken the searches, `onChange` is called once:
 * what was written before they were in place is read by that delta.
 */
export async function watchAdChanges(
  client: BulkReadConnection,
  server: ServerInfo,
  options: SnapshotReadOptions,
  onChange: () => void,
): Promise<void> {
  const bases = watchedBases(options, server);
  if (bases.length > MAX_NOTIFICATION_SEARCHES) {
    throw new DeltaUnavailableError(
      `${bases.length} bases to watch, over the ${MAX_NOTIFICATION_SEARCHES} change notifications AD allows on a connection`,
    );
  }
  const matters = relevantEntry(options);
  const onMessage = (response: LdapResponse) => {
    // An entry that cannot change what the delta reads is dropped; anything else, a delta judges.
    if (response.op !== LdapResponseOp.searchEntry || !('entry' in response) || matters(response.entry)) onChange();
  };
  const watches = bases.map((base) =>
    client.persistentSearch(
      base,
      {
        scope: 'sub',
        filter: '(objectClass=*)',
        attributes: ['objectClass'],
        controls: [new Control(CHANGE_NOTIFICATION_OID, { critical: true })],
      },
      onMessage,
      (result, messageId) => refuseNotificationResult(base, result, messageId),
    ),
  );
  const ended = Promise.race(watches);
  ended.catch(() => undefined); // awaited below, after the barrier
  // Samba takes a connection's requests one at a time: once a later one is answered, the searches are in place.
  // A server that answers out of order may run that delta early: a change in between waits for the polled one.
  const barrier = client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
  if ((await Promise.race([ended.then(() => false), barrier.then(() => true)])) === true) onChange();
  await ended;
}

/** The bases to watch: the user search base and the group bases, without one inside another. */
export function watchedBases(options: SnapshotReadOptions, server: ServerInfo): string[] {
  const byKey = new Map<string, string>();
  for (const dn of [options.searchBase, ...groupBases(options, server)]) {
    const key = tryNormalizeDn(dn) ?? dn;
    if (!byKey.has(key)) byKey.set(key, dn);
  }
  const keys = [...byKey.keys()];
  return keys
    .filter((key) => !keys.some((other) => other !== key && isWithin(key, other)))
    .map((key) => byKey.get(key)!);
}

/**
 * Whether a notified entry may change what the delta reads: anything under the user search base, a group,
 * or an entry of the users' class elsewhere (one moved out of the base). Unreadable names or classes: yes.
 */
export function relevantEntry(options: SnapshotReadOptions): (entry: Entry) => boolean {
  const base = tryNormalizeDn(options.searchBase) ?? options.searchBase;
  const userClass = options.objectClass.toLowerCase();
  return (entry) => {
    const dn = tryNormalizeDn(entry.dn);
    const classes = (allValues(entry, 'objectClass') ?? []).map((value) => value.toLowerCase());
    if (dn === undefined || classes.length === 0) return true;
    return isWithin(dn, base) || classes.includes('group') || classes.includes(userClass);
  };
}

/** A notification search only ends on an error: a refusal means polled deltas only, anything else a retry. */
function refuseNotificationResult(base: string, result: LdapResult, messageId: number): void {
  if (result.resultCode === 0) return;
  const refusal = REFUSALS[result.resultCode];
  if (refusal === undefined) throw resultError(messageId, result);
  const detail = result.diagnosticMessage ? ` (${result.diagnosticMessage})` : '';
  throw new DeltaUnavailableError(`the directory refused change notifications on ${base}: ${refusal}${detail}`);
}
