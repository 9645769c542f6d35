import type { DataSource } from 'typeorm';
import { UserEntity } from '../../entities/user.entity.js';
import { OutageLog, type OutageLogger } from '../../logging/outage-log.js';
import { errorText } from '../../logging/one-line.js';
import type { SqlDialect } from '../sql-dialect.js';

/** How long a returning login's time waits before it is written (with every other login of that second). */
export const LOGIN_TIMES_FLUSH_MS = 1_000;

/**
 * `users.last_login_at` of returning logins, written behind the request on PostgreSQL and MySQL / MariaDB:
 * the login answers after its one read, and the times of the logins of the last second go to the database in
 * one statement (the latest per user). A failed write is logged and tried again a second later, never failing
 * a login. On shutdown (`close`) the pending times are written and later ones are written at once.
 * The promise: a login's time is in the database within about a second; a crash loses at most that second's
 * times (never a login, nor any other column). A time never moves back (a later login's wins).
 */
export class LoginTimes {
  private pending = new Map<number, Date>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;
  private readonly failures: OutageLog;
  private readonly write: (batch: Array<[number, unknown]>) => Promise<unknown>;
  private readonly persist: (at: Date) => unknown;

  constructor(
    dataSource: DataSource,
    private readonly sql: SqlDialect,
    logger: OutageLogger,
    private readonly intervalMs = LOGIN_TIMES_FLUSH_MS,
  ) {
    const column = dataSource.getMetadata(UserEntity).findColumnWithPropertyName('lastLoginAt')!;
    // The value as TypeORM converts a Date for this column (the time zone handling then matches its writes).
    this.persist = (at) => dataSource.driver.preparePersistentValue(at, column);
    this.write = (batch) => dataSource.query(...this.statement(batch));
    this.failures = new OutageLog(logger, 'writes of login times failed', { firstLevel: 'warn' });
  }

  /** Notes a login's time; written within the interval (at once after `close`: awaited then). */
  async record(userId: number, at: Date): Promise<void> {
    if (this.closed) {
      await this.write([[userId, this.persist(at)]]);
      return;
    }
    const known = this.pending.get(userId);
    if (!known || known < at) this.pending.set(userId, at);
    this.schedule();
  }

  /** Writes the pending times now (one write at a time; a failed one keeps them for the next). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.writeAll(batch).finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /** Shutdown: the pending times are written, and each later login's at once. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    // Unref'd: a pending write keeps no process alive (an app that shuts down closes this first).
    this.timer = setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  private async writeAll(batch: Map<number, Date>): Promise<void> {
    // In id order: two app instances writing overlapping users lock their rows in the same order.
    const rows = [...batch].sort(([a], [b]) => a - b);
    const per = this.sql.kind === 'postgres' ? rows.length : this.sql.rowsPerStatement(2);
    try {
      for (let i = 0; i < rows.length; i += per) {
        await this.write(rows.slice(i, i + per).map(([id, at]) => [id, this.persist(at)]));
      }
      this.failures.succeeded('Login times are written again');
    } catch (error) {
      // Kept for the next write (unless a later login of that user came meanwhile); a login never waits on it.
      for (const [id, at] of batch) {
        const known = this.pending.get(id);
        if (!known || known < at) this.pending.set(id, at);
      }
      this.failures.failed(
        errorText(error),
        `Could not write the login times of ${batch.size} user(s); trying again in ${this.intervalMs} ms: ${errorText(error)}`,
      );
      this.schedule();
    }
  }

  /**
   * One statement setting each row's time, unless it holds a later one already (a full login's). `updated_at`
   * stays: a login time is no change of the user (MySQL moves it on any update unless the statement sets it).
   */
  private statement(batch: Array<[number, unknown]>): [string, unknown[]] {
    if (this.sql.kind === 'postgres') {
      return [
        'UPDATE users AS u SET last_login_at = GREATEST(COALESCE(u.last_login_at, v.at), v.at)' +
          ' FROM unnest($1::integer[], $2::timestamp[]) AS v(id, at) WHERE u.id = v.id',
        [batch.map(([id]) => id), batch.map(([, at]) => at)],
      ];
    }
    // MySQL / MariaDB (SQLite keeps its times exact: UnchangedLogin writes them with the login).
    const rows = batch.map(
      (_, i) => `SELECT ?${i === 0 ? ' AS id' : ''}, CAST(? AS DATETIME(6))${i === 0 ? ' AS at' : ''}`,
    );
    return [
      `UPDATE users u JOIN (${rows.join(' UNION ALL ')}) v ON u.id = v.id` +
        ' SET u.last_login_at = GREATEST(COALESCE(u.last_login_at, v.at), v.at), u.updated_at = u.updated_at',
      batch.flat(),
    ];
  }
}
