import { oneLine } from './one-line.js';

/** Where an OutageLog writes (a Nest Logger fits). */
export interface OutageLogger {
  error(message: string): void;
  warn(message: string): void;
  log(message: string): void;
}

export interface OutageLogOptions {
  /** Between two summary lines while the outage lasts. Default 10 s. */
  summaryIntervalMs?: number;
  /** The first failure's level. Default error. */
  firstLevel?: 'error' | 'warn';
  now?: () => number;
}

/**
 * A state that fails many times in a row (a directory down, a server unreachable), logged by its changes:
 * the first failure in full, then at most one summary line per interval ("N … failed: <what> (<last reason>)",
 * written at the next failure once the interval has passed, so no timer), and one line when it works again.
 * Failures that come a hundred a second then cost a line every ten seconds, not three lines each.
 */
export class OutageLog {
  private since?: number;
  private lastLine = 0;
  private uncounted = 0;
  private lastReason = '';
  private readonly interval: number;
  private readonly now: () => number;
  private readonly firstLevel: 'error' | 'warn';

  constructor(
    private readonly logger: OutageLogger,
    /** What failed, for the summary: "logins failed: directory unavailable". */
    private readonly what: string,
    options: OutageLogOptions = {},
  ) {
    this.interval = options.summaryIntervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.firstLevel = options.firstLevel ?? 'error';
  }

  get ongoing(): boolean {
    return this.since !== undefined;
  }

  /** One failure: `firstLine` is written if it begins an outage; later ones are counted. */
  failed(reason: string, firstLine: string): void {
    const now = this.now();
    this.lastReason = oneLine(reason);
    if (this.since === undefined) {
      this.since = now;
      this.lastLine = now;
      this.uncounted = 0;
      this.logger[this.firstLevel](oneLine(firstLine));
      return;
    }
    this.uncounted++;
    if (now - this.lastLine < this.interval) return;
    this.logger.warn(`${this.uncounted} ${this.what} (${this.lastReason}) in the last ${this.seconds(now)} s`);
    this.lastLine = now;
    this.uncounted = 0;
  }

  /** It works: the end of an outage, if one was going on, is logged with what was not yet counted. */
  succeeded(line: string): void {
    if (this.since === undefined) return;
    const now = this.now();
    const unreported = this.uncounted ? ` (${this.uncounted} more ${this.what} since the last line)` : '';
    this.logger.log(`${oneLine(line)} after ${Math.round((now - this.since) / 1000)} s${unreported}`);
    this.since = undefined;
    this.uncounted = 0;
  }

  private seconds(now: number): number {
    return Math.round((now - this.lastLine) / 1000);
  }
}
