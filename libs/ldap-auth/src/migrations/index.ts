import { InitialSchema1764028800000 } from './1764028800000-initial-schema.js';

/** The library's migrations, oldest first: list them in your TypeORM options and run them. */
export const LDAP_AUTH_MIGRATIONS = [InitialSchema1764028800000];
