import { InitialSchema1764028800000 } from './1764028800000-initial-schema.js';
import { WiderDnColumns1795996800000 } from './1795996800000-wider-dn-columns.js';
import { SyncState1796083200000 } from './1796083200000-sync-state.js';
import { UsernameLookupIndex1796256000000 } from './1796256000000-username-lookup-index.js';
import { UsernameKey1796342400000 } from './1796342400000-username-key.js';
import { SyncRunChanges1796428800000 } from './1796428800000-sync-run-changes.js';
import { DeltaSync1796515200000 } from './1796515200000-delta-sync.js';
import { LdapDnLookupIndex1796601600000 } from './1796601600000-ldap-dn-lookup-index.js';

/** The library's migrations, oldest first: list them in your TypeORM options and run them. */
export const LDAP_AUTH_MIGRATIONS = [
  InitialSchema1764028800000,
  WiderDnColumns1795996800000,
  SyncState1796083200000,
  UsernameLookupIndex1796256000000,
  UsernameKey1796342400000,
  SyncRunChanges1796428800000,
  DeltaSync1796515200000,
  LdapDnLookupIndex1796601600000,
];
