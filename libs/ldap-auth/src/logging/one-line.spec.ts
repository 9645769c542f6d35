import { describe, expect, it } from '@jest/globals';
import { errorText, oneLine } from './one-line.js';

describe('oneLine', () => {
  it('folds line breaks, and the blanks around them, into one line', () => {
    expect(oneLine('connect failed\nread ECONNRESET\r\n  at Socket.x  \n')).toBe(
      'connect failed | read ECONNRESET | at Socket.x',
    );
  });

  it('leaves a single line as it is', () => {
    expect(oneLine('Login failed for "bob": no directory server could be reached')).toBe(
      'Login failed for "bob": no directory server could be reached',
    );
  });

  it('folds an error message, or a thrown value', () => {
    expect(errorText(new Error('a\nread ECONNRESET'))).toBe('a | read ECONNRESET');
    expect(errorText('x\ny')).toBe('x | y');
  });
});
