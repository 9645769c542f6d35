import type { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';

/** How often, and how patiently, a Redis taken out of use is asked whether it answers again. */
export const REDIS_PROBE_INTERVAL_MS = 1_000;
const REDIS_PROBE_TIMEOUT_MS = 250;

/**
 * Whether the throttle's counters go to Redis. After one failed or timed-out command they go to this process's
 * memory at once (no login waits for a hung Redis any more), and a PING every second, in the background, brings
 * Redis back into use when it answers. Each change is logged once.
 */
export class RedisAvailability {
  private usable = true;
  private probeTimer?: NodeJS.Timeout;
  private probing = false;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    /** Where Redis is, passwords redacted: for the log lines. */
    private readonly where: string,
  ) {}

  /** True while counters are kept in Redis. */
  get inUse(): boolean {
    return this.usable;
  }

  /** A command failed, timed out, or Redis is not ready: memory from now on, until a probe answers. */
  markDown(reason: string): void {
    if (!this.usable || this.stopped) return;
    this.usable = false;
    this.logger.warn(
      `Redis at ${this.where} cannot be used (${oneLine(reason)}): login attempts are counted in this process ` +
        'only until it answers again',
    );
    this.probeTimer = setInterval(() => void this.probe(), REDIS_PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  /** Asks Redis now (also when it reconnects), rather than at the next tick. */
  async probe(): Promise<void> {
    if (this.usable || this.probing || this.stopped) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), REDIS_PROBE_TIMEOUT_MS);
      });
      await Promise.race([this.redis.ping(), timeout]);
      if (this.stopped) return;
      this.usable = true;
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.logger.log(`Redis at ${this.where} answers again: login throttle counters are shared again`);
    } catch {
      // Still down: the next tick asks again.
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.probeTimer);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
