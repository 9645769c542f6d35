import { afterEach, describe, expect, it } from '@jest/globals';
import { isTimeout, ServerPreference } from './server-preference.js';

const A = 'ldap://a.example';
const B = 'ldap://b.example';
const C = 'ldap://c.example';
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('ServerPreference', () => {
  let preference: ServerPreference | undefined;
  afterEach(() => preference?.close());

  function make(probe: (url: string) => Promise<boolean>): ServerPreference {
    preference = new ServerPreference([A, B, C], probe, silent, 1);
    return preference;
  }

  it('tries the URLs in order, a failed one last, and retires connections to it', () => {
    const p = make(() => new Promise(() => undefined));
    expect(p.order()).toEqual([A, B, C]);
    expect([A, B, C].map((u) => p.shouldRetire(u))).toEqual([false, true, true]);

    p.failed(A, 'timed out');
    expect(p.order()).toEqual([B, C, A]);
    // A is skipped; B is now the preferred server that answers, C stays a later choice.
    expect([A, B, C].map((u) => p.shouldRetire(u))).toEqual([true, false, true]);
  });

  it('brings a failed server back once the probe sees it answer', async () => {
    let up = false;
    const probed: string[] = [];
    const p = make((url) => {
      probed.push(url);
      return Promise.resolve(up);
    });
    p.failed(A, 'timed out');
    await tick();
    expect(probed.length).toBeGreaterThan(0);
    expect(p.isSuspect(A)).toBe(true);

    up = true;
    await tick();
    await tick();
    expect(p.isSuspect(A)).toBe(false);
    expect(p.order()).toEqual([A, B, C]);
    // Idle connections to B are retired now that the preferred server answers.
    expect(p.shouldRetire(B)).toBe(true);
    expect(new Set(probed)).toEqual(new Set([A]));
  });

  it('a connection that opened and answered clears the mark at once; a closed preference stops probing', async () => {
    let probes = 0;
    const p = make(() => {
      probes++;
      return Promise.resolve(false);
    });
    p.failed(B, 'connection refused');
    p.answered(B);
    expect(p.isSuspect(B)).toBe(false);

    p.failed(C, 'timed out');
    p.close();
    const before = probes;
    await tick();
    expect(probes).toBe(before);
    expect(p.isSuspect(C)).toBe(false);
  });

  it('recognises timeouts from ldapts and from the socket opening', () => {
    expect(isTimeout(new Error('BindRequest: Operation timed out'))).toBe(true);
    expect(isTimeout(new Error('timed out after 3000 ms opening the connection'))).toBe(true);
    expect(isTimeout(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe(false);
  });
});
