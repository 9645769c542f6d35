// Moved to active-directory.ts; kept only for the check (ldap-diagnostics.ts) until it imports from there.
export { type AttributeRange, rangedValues } from './active-directory.js';
