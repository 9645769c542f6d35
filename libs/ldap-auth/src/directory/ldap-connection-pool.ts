import { Client, ResultCodeError } from 'ldapts';

/**
 * A small pool of ldapts clients. One operation at a time runs on a connection (never a bind while another
 * request is outstanding), and a connection that failed below the LDAP level is thrown away, never reused.
 */
export class LdapConnectionPool {
  private readonly idle: Client[] = [];
  private readonly waiters: Array<{ resolve: (c: Client) => void; reject: (e: unknown) => void }> = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly connect: () => Promise<Client>,
    private readonly size: number,
    /** Whether a client can still be used; a client that is not is closed instead of reused. */
    private readonly usable: (client: Client) => boolean = (client) => client.isConnected,
    /** Closes a client for good. */
    private readonly destroy: (client: Client) => Promise<void> = unbindQuietly,
  ) {}

  /** Runs `fn` on a connection of the pool. LDAP result errors keep the connection; anything else drops it. */
  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let healthy = true;
    try {
      return await fn(client);
    } catch (error) {
      if (!(error instanceof ResultCodeError)) healthy = false;
      throw error;
    } finally {
      this.release(client, healthy && this.usable(client));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('LDAP connection pool closed'));
    await Promise.all(this.idle.splice(0).map((c) => this.destroy(c)));
  }

  private async acquire(): Promise<Client> {
    if (this.closed) throw new Error('LDAP connection pool closed');
    while (this.idle.length) {
      const client = this.idle.pop()!;
      // A client whose socket went away would silently reconnect (without StartTLS): never reuse it.
      if (this.usable(client)) return client;
      this.open--;
      void this.destroy(client);
    }
    if (this.open < this.size) return this.create();
    return new Promise<Client>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async create(): Promise<Client> {
    this.open++;
    try {
      return await this.connect();
    } catch (error) {
      this.open--;
      this.wakeOne();
      throw error;
    }
  }

  private release(client: Client, reusable: boolean): void {
    if (reusable && !this.closed) {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(client);
      else this.idle.push(client);
      return;
    }
    this.open--;
    void this.destroy(client);
    this.wakeOne();
  }

  /** A slot freed up: let the first waiter open a connection of its own. */
  private wakeOne(): void {
    if (this.closed || this.open >= this.size) return;
    const waiter = this.waiters.shift();
    if (waiter) this.create().then(waiter.resolve, waiter.reject);
  }
}

async function unbindQuietly(client: Client): Promise<void> {
  try {
    await client.unbind();
  } catch {
    // The socket is closed either way.
  }
}
