/** Development and test helpers: `import { EmbeddedDirectory } from '@nest-ldap-auth/ldap-auth/testing'`. */
export {
  EmbeddedDirectory,
  type EmbeddedDirectoryOptions,
  type PagedSearchDisconnect,
  type PagedSearchFailure,
} from './embedded-directory.js';
export { parseLdif, LdifParseError, type LdifRecord } from './ldif.js';
