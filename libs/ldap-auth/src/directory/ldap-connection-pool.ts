import { DirectoryUnavailableError } from '../errors/ldap-auth.errors.js';

export interface PoolLimits {
  /** Connections kept open at most. */
  size: number;
  /** Requests that may wait for a connection when all are busy; one more gets DirectoryUnavailableError at once. */
  maxWaiting: number;
  /** Milliseconds a request may wait for a connection before it gets DirectoryUnavailableError. */
  waitTimeoutMs: number;
}

export interface PoolHooks<C> {
  /** Opens a connection (rejects when no server can be reached). */
  connect(): Promise<C>;
  /** Whether a connection can still be used; one that cannot is closed instead of reused. */
  usable(connection: C): boolean;
  /** Whether an error thrown by the work says the connection itself is broken (it is then closed). */
  breaks(error: unknown): boolean;
  /** Closes a connection for good. */
  destroy(connection: C): Promise<void>;
}

interface Waiter<C> {
  resolve(connection: C): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * A small pool of LDAP connections. One operation at a time runs on a connection (never a bind while another
 * request is outstanding), a connection that failed below the LDAP level is thrown away, and nothing waits
 * forever: the queue of waiting requests is bounded and each wait has a deadline.
 */
export class LdapConnectionPool<C> {
  private readonly idle: C[] = [];
  private readonly waiters: Array<Waiter<C>> = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly limits: PoolLimits,
    private readonly hooks: PoolHooks<C>,
  ) {}

  /** Runs `fn` on a connection of the pool; the connection is kept unless `fn` broke it. */
  async use<T>(fn: (connection: C) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    let healthy = true;
    try {
      return await fn(connection);
    } catch (error) {
      if (this.hooks.breaks(error)) healthy = false;
      throw error;
    } finally {
      this.release(connection, healthy && this.hooks.usable(connection));
    }
  }

  /** Connections open and busy (or opening), open and idle, and requests waiting for one: for the metrics. */
  stats(): { inUse: number; idle: number; waiting: number } {
    return { inUse: this.open - this.idle.length, idle: this.idle.length, waiting: this.waiters.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.rejectWaiters(new DirectoryUnavailableError('the LDAP connection pool is closed'));
    await Promise.all(this.idle.splice(0).map((c) => this.hooks.destroy(c)));
  }

  private async acquire(): Promise<C> {
    if (this.closed) throw new DirectoryUnavailableError('the LDAP connection pool is closed');
    while (this.idle.length) {
      const connection = this.idle.pop()!;
      // A connection whose socket went away would be useless (and ldapts would reconnect without TLS).
      if (this.hooks.usable(connection)) return connection;
      this.open--;
      void this.hooks.destroy(connection);
    }
    if (this.open < this.limits.size) return this.create();
    if (this.waiters.length >= this.limits.maxWaiting) {
      throw new DirectoryUnavailableError(
        `all ${this.limits.size} LDAP connections are busy and ${this.waiters.length} requests are already waiting (LDAP_AUTH_POOL_SIZE, LDAP_AUTH_POOL_MAX_WAITING)`,
      );
    }
    return new Promise<C>((resolve, reject) => {
      const waiter: Waiter<C> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(
            new DirectoryUnavailableError(
              `no LDAP connection became free within ${this.limits.waitTimeoutMs} ms (LDAP_AUTH_POOL_WAIT_TIMEOUT)`,
            ),
          );
        }, this.limits.waitTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private async create(): Promise<C> {
    this.open++;
    try {
      return await this.hooks.connect();
    } catch (error) {
      this.open--;
      // No server answered: the requests waiting behind this one would only wait to fail the same way.
      this.rejectWaiters(error);
      throw error;
    }
  }

  private release(connection: C, reusable: boolean): void {
    if (reusable && !this.closed) {
      const waiter = this.waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(connection);
      } else {
        this.idle.push(connection);
      }
      return;
    }
    this.open--;
    void this.hooks.destroy(connection);
    this.wakeOne();
  }

  /** A slot freed up: let the first waiter open a connection of its own. */
  private wakeOne(): void {
    if (this.closed || this.open >= this.limits.size) return;
    const waiter = this.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.create().then(
      (connection) => waiter.resolve(connection),
      (error: unknown) => waiter.reject(error),
    );
  }

  private rejectWaiters(error: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }
}
