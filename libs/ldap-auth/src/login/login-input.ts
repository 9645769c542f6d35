import type { LoginFailureCode } from '../errors/ldap-auth.errors.js';

/** Longest username and password we pass on; longer input cannot be a real account and only costs work. */
export const MAX_USERNAME_LENGTH = 256;
export const MAX_PASSWORD_LENGTH = 1024;

/** Input no login may send to the directory, with the reason the login gives. */
export interface LoginInputRefusal {
  reason: string;
  code: LoginFailureCode;
  /** The password was empty: never sent, since servers treat a name with an empty password as anonymous. */
  emptyPassword: boolean;
}

/**
 * The rules a typed name and password must pass before any bind, shared by the login and `ldap:check`:
 * the name trimmed (directories ignore surrounding spaces), or why the input is refused. A password of
 * `undefined` (a check that binds as nobody: the admin page's "test a user" without a password) skips its rules.
 */
export function checkLoginInput(
  typed: string,
  password: string | undefined,
): { name: string } | { refused: LoginInputRefusal } {
  const refused = (reason: string, emptyPassword = false) => ({
    refused: { reason, code: 'invalid_input' as const, emptyPassword },
  });
  const name = typed.trim();
  if (!name) return refused('empty username');
  if (password !== undefined && !password) return refused('empty password', true);
  const secret = password ?? '';
  // A NUL would cut the value short on some servers.
  if (name.includes('\0') || secret.includes('\0')) return refused('NUL character in the input');
  if (name.length > MAX_USERNAME_LENGTH || secret.length > MAX_PASSWORD_LENGTH) {
    return refused('username or password too long');
  }
  return { name };
}
