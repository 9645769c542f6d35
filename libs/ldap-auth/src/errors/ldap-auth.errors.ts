import { inspect } from 'node:util';

/**
 * Domain errors. Only the guard turns them into HTTP answers; everything else just throws them.
 */
export abstract class LdapAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** Why a login was refused, as a stable code (for audit events and metrics; the `reason` text is for people). */
export type LoginFailureCode =
  | 'invalid_input'
  | 'wrong_credentials'
  | 'unknown_user'
  | 'ambiguous_username'
  | 'account_disabled'
  | 'account_locked'
  | 'account_expired'
  | 'password_expired'
  | 'password_must_change'
  | 'logon_restricted'
  | 'bind_refused'
  | 'identity_mismatch'
  | 'not_in_login_group'
  | 'username_taken'
  | 'deactivated_in_app'
  | 'value_too_long'
  | 'value_has_nul';

/**
 * A login that must fail: wrong password, unknown user, empty password, not in the login group, disabled
 * account... `reason` is for the log only; the user always sees the same generic answer.
 */
export class InvalidCredentialsError extends LdapAuthError {
  constructor(
    readonly reason: string,
    readonly code: LoginFailureCode = 'wrong_credentials',
  ) {
    super(`Invalid credentials: ${reason}`);
  }
}

/** The login request itself is malformed (missing or non-string fields): the client's bug, not a failed login. */
export class MalformedLoginRequestError extends LdapAuthError {}

/** No directory server could be reached, or it did not answer in time. */
export class DirectoryUnavailableError extends LdapAuthError {}

/** The directory answered in a way we cannot use (for example a search base that does not exist). */
export class DirectoryError extends LdapAuthError {}

/**
 * The directory answered but refused the service account's bind (LDAP_SYNC_USER_USERNAME / _PASSWORD): a
 * configuration fault, so the sync reports it as failed, not as a safety abort.
 */
export class ServiceAccountBindError extends DirectoryError {}

/** The full sync could not read the directory completely; it aborts before anything is written. */
export class IncompleteDirectoryReadError extends LdapAuthError {}

/** The directory cannot tell what changed (no content synchronisation): a delta run reads it whole instead. */
export class DeltaUnavailableError extends LdapAuthError {}

/**
 * A configuration value is wrong. The message names the variable or option and says what is allowed.
 *
 * Its stack is its message alone: Nest logs an error thrown while the app starts with its stack and its fields,
 * and here the frames (inside Nest's injector, never the user's code) and a second copy of the problems would
 * bury the one thing to read, the variable and what is wrong with it.
 */
export class LdapConfigurationError extends LdapAuthError {
  declare readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid LDAP configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    // Not enumerable: util.inspect (Nest's logger) would print them again after the message.
    Object.defineProperty(this, 'problems', { value: problems, enumerable: false });
    this.stack = `${this.name}: ${this.message}`;
  }

  /** What util.inspect (Nest's logger, console.error, an unhandled rejection) prints: the message, unbracketed. */
  [inspect.custom](): string {
    return this.stack ?? this.message;
  }
}

/** The database connection was lost (killed, reset, server gone) and the work could not be done: a 503. */
export class DatabaseUnavailableError extends LdapAuthError {}
