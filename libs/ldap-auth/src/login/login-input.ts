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
 * the name trimmed (directories ignore surrounding spaces), or why the input is refused.
 */
export function checkLoginInput(typed: string, password: string): { name: string } | { refused: LoginInputRefusal } {
  const refused = (reason: string, emptyPassword = false) => ({
    refused: { reason, code: 'invalid_input' as const, emptyPassword },
  });
  const name = typed.trim();
  if (!name) return refused('empty username');
  if (!password) return refused('empty password', true);
  // A NUL would cut the value short on some servers.
  if (name.includes('\0') || password.includes('\0')) return refused('NUL character in the input');
  if (name.length > MAX_USERNAME_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    return refused('username or password too long');
  }
  return { name };
}
