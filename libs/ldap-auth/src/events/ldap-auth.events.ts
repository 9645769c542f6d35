import type { LoginFailureCode } from '../errors/ldap-auth.errors.js';
import type { SyncReport } from '../model/sync-report.js';

/**
 * Audit and integration events, published through `@nestjs/event-emitter` when the app has it
 * (`EventEmitterModule.forRoot()`); without it nothing is published and everything works the same.
 * Subscribe with `@OnEvent(LDAP_AUTH_EVENTS.loginFailed)` and the payload type of the same name below.
 * Payloads never hold a password.
 */
export const LDAP_AUTH_EVENTS = {
  loginSucceeded: 'ldap-auth.login.succeeded',
  loginFailed: 'ldap-auth.login.failed',
  userCreated: 'ldap-auth.user.created',
  userUpdated: 'ldap-auth.user.updated',
  userDeactivated: 'ldap-auth.user.deactivated',
  userReactivated: 'ldap-auth.user.reactivated',
  userRemoved: 'ldap-auth.user.removed',
  userLinked: 'ldap-auth.user.linked',
  groupMembershipChanged: 'ldap-auth.group.membership-changed',
  syncStarted: 'ldap-auth.sync.started',
  syncFinished: 'ldap-auth.sync.finished',
  syncAborted: 'ldap-auth.sync.aborted',
} as const;

/** Who made a change: a login, or the full sync. */
export type ChangeSource = 'login' | 'sync';

export interface LoginSucceededEvent {
  userId: number;
  username: string;
  dn: string;
  at: Date;
}

export interface LoginFailedEvent {
  /** What was typed, trimmed and cut to 256 characters. */
  username: string;
  /** Why, as a stable code; `reason` says it in words (as logged). */
  code: LoginFailureCode;
  reason: string;
  at: Date;
}

export interface UserCreatedEvent {
  userId: number;
  username: string;
  ldapUuid: string;
  dn: string;
  source: ChangeSource;
}

export interface UserUpdatedEvent {
  userId: number;
  username: string;
  /** Columns whose value changed: `username`, `email`, `first_name`, `last_name`, `ldap_dn`. */
  changed: string[];
  source: ChangeSource;
}

export interface UserDeactivatedEvent {
  userId: number;
  username: string;
  /** `removed`: the entry is gone (LDAP_SYNC_REMOVED_USERS=deactivate); `disabled`: AD disabled the account. */
  reason: 'removed' | 'disabled';
  source: ChangeSource;
}

export interface UserReactivatedEvent {
  userId: number;
  username: string;
  source: ChangeSource;
}

export interface UserRemovedEvent {
  userId: number;
  username: string;
  source: ChangeSource;
}

/** `npm run users:link` linked an app user that predates LDAP to its directory entry (its id stays). */
export interface UserLinkedEvent {
  userId: number;
  username: string;
  ldapUuid: string;
  dn: string;
  /** What the row and the entry shared. */
  by: 'username' | 'email';
}

export interface GroupMembershipChangedEvent {
  groupId: number;
  /** Normalised DN of the group. */
  groupDn: string;
  groupName: string;
  added: number[];
  removed: number[];
  source: ChangeSource;
}

export interface SyncStartedEvent {
  runId: number;
  dryRun: boolean;
}

/** `sync.finished` for a run that succeeded, `sync.aborted` for one that aborted, failed or was skipped. */
export interface SyncEndedEvent {
  report: SyncReport;
}

/** Event name → payload type. */
export interface LdapAuthEventMap {
  [LDAP_AUTH_EVENTS.loginSucceeded]: LoginSucceededEvent;
  [LDAP_AUTH_EVENTS.loginFailed]: LoginFailedEvent;
  [LDAP_AUTH_EVENTS.userCreated]: UserCreatedEvent;
  [LDAP_AUTH_EVENTS.userUpdated]: UserUpdatedEvent;
  [LDAP_AUTH_EVENTS.userDeactivated]: UserDeactivatedEvent;
  [LDAP_AUTH_EVENTS.userReactivated]: UserReactivatedEvent;
  [LDAP_AUTH_EVENTS.userRemoved]: UserRemovedEvent;
  [LDAP_AUTH_EVENTS.userLinked]: UserLinkedEvent;
  [LDAP_AUTH_EVENTS.groupMembershipChanged]: GroupMembershipChangedEvent;
  [LDAP_AUTH_EVENTS.syncStarted]: SyncStartedEvent;
  [LDAP_AUTH_EVENTS.syncFinished]: SyncEndedEvent;
  [LDAP_AUTH_EVENTS.syncAborted]: SyncEndedEvent;
}
