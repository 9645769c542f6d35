import type { LoggerService } from '@nestjs/common';

/** How often a server that failed is probed until it answers again. */
export const SERVER_PROBE_INTERVAL_MS = 2_000;

/** Whether the server at a URL answered a probe (a root DSE read within the timeouts). Never throws. */
export type ServerProbe = (url: string) => Promise<boolean>;

/**
 * Which server to use, per URL of LDAP_AUTH_URL: healthy, or suspect (it failed: timed out, refused...) until a
 * background probe sees it answer again. Without this memory every new connection would wait a full timeout
 * on a hung server (the kernel still accepts its TCP connections); and the first URL is the preferred one, so
 * once it answers again connections to the later ones are retired (when idle) and new ones go back to it.
 */
export class ServerPreference {
  /** Suspect URLs, with the timer of their next probe. */
  private readonly suspect = new Map<string, NodeJS.Timeout | undefined>();
  private closed = false;

  constructor(
    private readonly urls: readonly string[],
    private readonly probe: ServerProbe,
    private readonly logger: LoggerService,
    private readonly probeIntervalMs = SERVER_PROBE_INTERVAL_MS,
  ) {}

  /** The URLs to try, in order: the healthy ones as configured, then the suspect ones (a last resort). */
  order(): string[] {
    return [...this.urls.filter((u) => !this.suspect.has(u)), ...this.urls.filter((u) => this.suspect.has(u))];
  }

  isSuspect(url: string): boolean {
    return this.suspect.has(url);
  }

  /**
   * Whether a connection to `url` should not be used again: its server failed, or a server listed before it
   * answers (the preferred one is back). Connections in use finish their work; this is asked between uses.
   */
  shouldRetire(url: string): boolean {
    if (this.suspect.has(url)) return true;
    const index = this.urls.indexOf(url);
    return this.urls.slice(0, Math.max(index, 0)).some((earlier) => !this.suspect.has(earlier));
  }

  /** The server at `url` failed: new connections go to the others until a probe sees it answer. */
  failed(url: string, reason: string): void {
    if (this.closed || this.suspect.has(url) || !this.urls.includes(url)) return;
    const others = this.urls.length > 1 ? '; the other servers are used until it answers again' : '';
    this.logger.warn(`${url} failed (${reason})${others}`);
    this.suspect.set(url, undefined);
    this.scheduleProbe(url);
  }

  /** A connection to `url` opened and answered: it is usable again (the probe need not wait). */
  answered(url: string): void {
    if (!this.suspect.has(url)) return;
    clearTimeout(this.suspect.get(url));
    this.suspect.delete(url);
    this.logger.log(`${url} answers again`);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.suspect.values()) clearTimeout(timer);
    this.suspect.clear();
  }

  private scheduleProbe(url: string): void {
    const timer = setTimeout(() => {
      void this.probe(url).then(
        (up) => this.afterProbe(url, up),
        () => this.afterProbe(url, false),
      );
    }, this.probeIntervalMs);
    // The probe must never keep the process alive on its own.
    timer.unref();
    this.suspect.set(url, timer);
  }

  private afterProbe(url: string, up: boolean): void {
    if (this.closed || !this.suspect.has(url)) return;
    if (up) this.answered(url);
    else this.scheduleProbe(url);
  }
}

/** Whether an error says the peer did not answer in time (ldapts' operation timeout, or our opening deadline). */
export function isTimeout(error: unknown): boolean {
  return error instanceof Error && /timed out/i.test(error.message);
}
