import type { Entry } from 'ldapts';
import { allValues } from '../model/directory-user.js';
import { parentDn, tryNormalizeDn } from '../model/dn.js';

/** AD advertises this capability (LDAP_CAP_ACTIVE_DIRECTORY_OID) in its root DSE; Samba AD does too. */
export const AD_CAPABILITY_OID = '1.2.840.113556.1.4.800';
/** RFC 4533 Sync Request control: the server does content synchronisation (OpenLDAP's syncprov overlay). */
export const CONTENT_SYNC_OID = '1.3.6.1.4.1.4203.1.9.1.1';
/** LDAP_SERVER_NOTIFICATION_OID (MS-ADTS 3.1.1.3.4.1.9): AD's change notifications (Samba AD's too). */
export const CHANGE_NOTIFICATION_OID = '1.2.840.113556.1.4.528';
/** RFC 4532 "Who am I?" extended operation. */
export const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';

/** Root DSE attributes read on every new connection. */
export const ROOT_DSE_ATTRIBUTES = [
  'supportedCapabilities',
  'supportedExtension',
  'supportedControl',
  'namingContexts',
  'defaultNamingContext',
  'subschemaSubentry',
];

/** What a server says about itself in its root DSE. Decisions that depend on the kind of server use this, never the entry. */
export interface ServerInfo {
  /** Active Directory (or Samba AD): objectGUID is the stable id, memberOf is always maintained. */
  activeDirectory: boolean;
  /** The server answers RFC 4532 "Who am I?". */
  whoAmI: boolean;
  /** The server advertises RFC 4533 content synchronisation (the Sync Request control) in supportedControl. */
  contentSync: boolean;
  /** The server advertises AD's change notifications (LDAP_SERVER_NOTIFICATION_OID) in supportedControl. */
  changeNotifications: boolean;
  /** Normalised DNs of the naming contexts it holds (the default one first on AD). */
  namingContexts: string[];
  /** Where its schema can be read. */
  subschemaSubentry?: string;
}

/** Reads a root DSE entry; `undefined` (the root DSE could not be read) gives an unknown, non-AD server. */
export function serverInfoFromRootDse(entry: Entry | undefined): ServerInfo {
  const values = (attribute: string) => (entry ? (allValues(entry, attribute) ?? []) : []);
  const contexts = [...values('defaultNamingContext'), ...values('namingContexts')]
    .map(tryNormalizeDn)
    .filter((dn): dn is string => !!dn);
  return {
    activeDirectory: values('supportedCapabilities').includes(AD_CAPABILITY_OID),
    whoAmI: values('supportedExtension').includes(WHO_AM_I_OID),
    contentSync: values('supportedControl').includes(CONTENT_SYNC_OID),
    changeNotifications: values('supportedControl').includes(CHANGE_NOTIFICATION_OID),
    namingContexts: [...new Set(contexts)],
    subschemaSubentry: values('subschemaSubentry')[0],
  };
}

/** Whether `dn` is `base` or below it (both normalised). */
export function isWithin(dn: string, base: string): boolean {
  return base === '' || dn === base || dn.endsWith(`,${base}`);
}

/**
 * The default group search base: one level above the user search base (groups usually live beside the
 * people OU), but never above the naming context that holds it (the parent of an AD domain root does not
 * exist). Undefined when the server named no naming context that holds the search base.
 */
export function deriveGroupSearchBase(searchBase: string, namingContexts: readonly string[]): string | undefined {
  const base = tryNormalizeDn(searchBase);
  if (base === undefined) return undefined;
  const context = namingContexts.filter((nc) => isWithin(base, nc)).sort((a, b) => b.length - a.length)[0];
  if (context === undefined) return undefined;
  if (base === context) return searchBase;
  const parent = parentDn(searchBase);
  const normalizedParent = tryNormalizeDn(parent) ?? '';
  return isWithin(normalizedParent, context) ? parent : searchBase;
}
