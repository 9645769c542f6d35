import { describe, expect, it } from '@jest/globals';
import { storedUsername, usernameKey, usernameKeyFits, USERNAME_KEY_MAX_LENGTH } from './username-key.js';

describe('usernameKey', () => {
  it('folds case beyond ASCII, compatibility forms and surrounding spaces', () => {
    expect(usernameKey('ÉRIC')).toBe(usernameKey('éric'));
    expect(usernameKey(' Ａｌｉｃｅ ')).toBe('alice');
    expect(usernameKey('STRASSE')).toBe(usernameKey('straße'));
    expect(usernameKey('ΟΔΟΣ')).toBe(usernameKey('οδος'));
    expect(usernameKey('ΟΔΟΣ')).toBe(usernameKey('οδοσ'));
    expect(usernameKey('alice')).not.toBe(usernameKey('alice2'));
  });

  it('is its own key (a stored key looked up again finds itself)', () => {
    for (const name of ['ÉRIC', 'straße', 'ΟΔΟΣ', 'İstanbul', 'ﬁle', 'Ω']) {
      expect(usernameKey(usernameKey(name))).toBe(usernameKey(name));
    }
  });

  it('tells whether a key fits its column, in code points', () => {
    expect(usernameKeyFits('a'.repeat(USERNAME_KEY_MAX_LENGTH))).toBe(true);
    expect(usernameKeyFits('😀'.repeat(USERNAME_KEY_MAX_LENGTH))).toBe(true);
    expect(usernameKeyFits('a'.repeat(USERNAME_KEY_MAX_LENGTH + 1))).toBe(false);
    // One character whose compatibility form is 18 characters long.
    expect(usernameKeyFits(usernameKey('\uFDFA'.repeat(15)))).toBe(false);
  });
});

describe('storedUsername', () => {
  it('keeps the stored name if it is a value, else the value that is the same name, else the first', () => {
    expect(storedUsername(['a', 'b'], 'b')).toBe('b');
    expect(storedUsername(['a', 'Bob'], 'bob')).toBe('Bob');
    expect(storedUsername(['a', 'b'], 'c')).toBe('a');
    expect(storedUsername(['a', 'b'], undefined)).toBe('a');
    expect(storedUsername(['only'], 'other')).toBe('only');
    expect(storedUsername([], 'x')).toBeUndefined();
  });
});

describe('usernameKey on ASCII', () => {
  it('gives what the general rule gives', () => {
    const ascii = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)).join('');
    for (const name of [ascii, ` ${ascii} `, 'Alice.Archer@X', '\tbob\n']) {
      expect(usernameKey(name)).toBe(name.normalize('NFKC').trim().toUpperCase().toLowerCase());
    }
  });
});
