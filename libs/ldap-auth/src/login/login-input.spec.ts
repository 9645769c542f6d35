import { describe, expect, it } from '@jest/globals';
import { checkLoginInput, MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH } from './login-input.js';

describe('checkLoginInput', () => {
  it('trims the name, and keeps the password as typed', () => {
    expect(checkLoginInput('  alice \t', ' secret ')).toEqual({ name: 'alice' });
  });

  it.each([
    ['   ', 'secret', 'empty username', false],
    ['alice', '', 'empty password', true],
    ['ali\0ce', 'secret', 'NUL character in the input', false],
    ['alice', 'sec\0ret', 'NUL character in the input', false],
    ['a'.repeat(MAX_USERNAME_LENGTH + 1), 'secret', 'username or password too long', false],
    ['alice', 'p'.repeat(MAX_PASSWORD_LENGTH + 1), 'username or password too long', false],
  ])('refuses %j / %j before any bind: %s', (name, password, reason, emptyPassword) => {
    expect(checkLoginInput(name, password)).toEqual({ refused: { reason, code: 'invalid_input', emptyPassword } });
  });

  it('accepts a name and a password at their length limits', () => {
    const name = 'a'.repeat(MAX_USERNAME_LENGTH);
    expect(checkLoginInput(name, 'p'.repeat(MAX_PASSWORD_LENGTH))).toEqual({ name });
  });

  it('checks the name before the password', () => {
    expect(checkLoginInput('', '')).toMatchObject({ refused: { reason: 'empty username' } });
  });
});
