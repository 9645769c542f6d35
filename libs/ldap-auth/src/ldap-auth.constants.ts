/** Name under which the strategy registers with Passport (`AuthGuard('ldap')`). */
export const LDAP_STRATEGY_NAME = 'ldap';

/** Object identifier of AD's LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nesting. */
export const AD_MATCHING_RULE_IN_CHAIN = '1.2.840.113556.1.4.1941';

/** AD's domain scope control: suppresses continuation references (referrals) from subtree searches. */
export const AD_DOMAIN_SCOPE_CONTROL = '1.2.840.113556.1.4.1339';

/** Attributes the directories use as a stable identity for an entry. */
export const OPENLDAP_UUID_ATTRIBUTE = 'entryUUID';
export const AD_UUID_ATTRIBUTE = 'objectGUID';

/** Options with defaults applied (see `resolveLdapAuthOptions`); inject with `@Inject(LDAP_AUTH_RESOLVED_OPTIONS)`. */
export const LDAP_AUTH_RESOLVED_OPTIONS = Symbol('LDAP_AUTH_RESOLVED_OPTIONS');
