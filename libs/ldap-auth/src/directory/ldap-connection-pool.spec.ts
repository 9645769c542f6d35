import { describe, expect, it } from '@jest/globals';
import { LdapConnectionPool, type PoolHooks } from './ldap-connection-pool.js';
import { DirectoryUnavailableError } from '../errors/ldap-auth.errors.js';

interface Fake {
  id: number;
  alive: boolean;
}

function pool(
  limits: { size: number; maxWaiting?: number; waitTimeoutMs?: number },
  overrides: Partial<PoolHooks<Fake>> = {},
) {
  let next = 0;
  const destroyed: number[] = [];
  const hooks: PoolHooks<Fake> = {
    connect: () => Promise.resolve({ id: ++next, alive: true }),
    usable: (c) => c.alive,
    breaks: (error) => !(error instanceof Error && error.message === 'ldap result'),
    destroy: (c) => {
      destroyed.push(c.id);
      return Promise.resolve();
    },
    ...overrides,
  };
  const p = new LdapConnectionPool<Fake>(
    { size: limits.size, maxWaiting: limits.maxWaiting ?? 10, waitTimeoutMs: limits.waitTimeoutMs ?? 1000 },
    hooks,
  );
  return { p, destroyed, opened: () => next };
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('LdapConnectionPool', () => {
  it('reuses one connection for work done one after another', async () => {
    const { p, opened } = pool({ size: 4 });
    for (let i = 0; i < 5; i++) await p.use(() => Promise.resolve());
    expect(opened()).toBe(1);
  });

  it('keeps a connection after an LDAP-level error, and throws away one the work broke', async () => {
    const { p, destroyed, opened } = pool({ size: 1 });
    await expect(p.use(() => Promise.reject(new Error('ldap result')))).rejects.toThrow('ldap result');
    await p.use(() => Promise.resolve());
    expect(opened()).toBe(1);
    await expect(p.use(() => Promise.reject(new Error('socket hang up')))).rejects.toThrow('socket hang up');
    expect(destroyed).toEqual([1]);
    await p.use(() => Promise.resolve());
    expect(opened()).toBe(2);
  });

  it('never reuses a connection that is no longer usable', async () => {
    const { p, opened } = pool({ size: 1 });
    await p.use((c) => {
      c.alive = false;
      return Promise.resolve();
    });
    await p.use(() => Promise.resolve());
    expect(opened()).toBe(2);
  });

  it('gives a waiting request the next free connection', async () => {
    const { p, opened } = pool({ size: 1 });
    const gate = deferred();
    const first = p.use(() => gate.promise);
    const second = p.use((c) => Promise.resolve(c.id));
    gate.resolve();
    await first;
    expect(await second).toBe(1);
    expect(opened()).toBe(1);
  });

  it('refuses at once a request that does not fit the wait queue', async () => {
    const { p } = pool({ size: 1, maxWaiting: 1 });
    const gate = deferred();
    const busy = p.use(() => gate.promise);
    const waiting = p.use(() => Promise.resolve('waited'));
    await expect(p.use(() => Promise.resolve('never'))).rejects.toThrow(/1 requests are already waiting/);
    gate.resolve();
    await busy;
    expect(await waiting).toBe('waited');
  });

  it('gives up waiting after the wait timeout, with DirectoryUnavailableError', async () => {
    const { p } = pool({ size: 1, waitTimeoutMs: 20 });
    const gate = deferred();
    const busy = p.use(() => gate.promise);
    await expect(p.use(() => Promise.resolve())).rejects.toBeInstanceOf(DirectoryUnavailableError);
    gate.resolve();
    await busy;
    // The pool still works after a timed-out waiter.
    expect(await p.use(() => Promise.resolve('ok'))).toBe('ok');
  });

  it('fails every waiting request at once when opening a connection fails (the server is down)', async () => {
    const gate = deferred();
    const down = new DirectoryUnavailableError('no directory server could be reached');
    const { p } = pool(
      { size: 1, waitTimeoutMs: 10_000 },
      { connect: () => gate.promise.then(() => Promise.reject(down)) },
    );
    const attempts = [
      p.use(() => Promise.resolve(1)),
      p.use(() => Promise.resolve(2)),
      p.use(() => Promise.resolve(3)),
    ];
    gate.resolve();
    const results = await Promise.allSettled(attempts);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('refuses work once closed, and fails the waiters', async () => {
    const { p } = pool({ size: 1 });
    const gate = deferred();
    const busy = p.use(() => gate.promise);
    const waiting = p.use(() => Promise.resolve());
    await p.close();
    await expect(waiting).rejects.toBeInstanceOf(DirectoryUnavailableError);
    await expect(p.use(() => Promise.resolve())).rejects.toBeInstanceOf(DirectoryUnavailableError);
    gate.resolve();
    await busy;
  });
});
