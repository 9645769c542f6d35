/** Simple bind and compare against the entry store, answering as slapd does. */
import { createHash, timingSafeEqual } from 'node:crypto';

import { toDnInfo } from './dn.js';
import type { EntryStore } from './entry-store.js';
import { valuesEqual } from './filter-matching.js';
import { RESULT, type Outcome } from './ldap-protocol.js';
import type { BindRequest, CompareRequest } from './ldapjs-runtime.js';

export function bind(store: EntryStore, req: BindRequest): Outcome {
  // ldapjs answers the anonymous bind (empty DN and password) itself, before this runs.
  const dn = toDnInfo(req.dn);
  if (dn.ndn === '') return { code: RESULT.invalidCredentials, message: 'a password needs a bind DN' };
  // Like slapd: a DN with an empty password would be an "unauthenticated" bind; refuse it
  // rather than let it look like a successful login.
  if (req.credentials === '') {
    return { code: RESULT.unwillingToPerform, message: 'unauthenticated bind (DN with no password) disallowed' };
  }
  const entry = store.get(dn.ndn);
  const passwords = entry?.attributes.get('userpassword')?.values ?? [];
  const ok = passwords.some((password) => sameSecret(password, req.credentials));
  return ok ? { code: RESULT.success } : { code: RESULT.invalidCredentials };
}

export function compare(store: EntryStore, req: CompareRequest): Outcome {
  const info = toDnInfo(req.entry);
  const entry = store.get(info.ndn);
  if (!entry) return { code: RESULT.noSuchObject, matchedDN: store.closestAncestor(info) };
  const attribute = req.attribute.toLowerCase();
  if (attribute === 'userpassword') {
    return { code: RESULT.insufficientAccessRights, message: 'userPassword cannot be compared' };
  }
  const values = store.values(entry, attribute) ?? [];
  if (values.length === 0) return { code: RESULT.noSuchAttribute };
  const equal = values.some((value) => valuesEqual(attribute, value, req.value));
  return { code: equal ? RESULT.compareTrue : RESULT.compareFalse };
}

/** Constant-time comparison of a stored password with a presented one. */
function sameSecret(stored: string, presented: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(stored), digest(presented));
}
