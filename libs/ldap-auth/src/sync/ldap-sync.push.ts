import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { LdapSyncStore } from '../persistence/sync/ldap-sync.store.js';
import { LdapSyncLock } from '../persistence/sync/ldap-sync-lock.js';
import { parseSyncCursor } from '../model/sync-cursor.js';
import { DeltaUnavailableError } from '../errors/ldap-auth.errors.js';
import { errorText } from '../logging/one-line.js';
import { LdapSyncService } from './ldap-sync.service.js';

/** Changes arriving within this long of each other are read by one delta. */
const BATCH_MS = 200;
/** How often a replica without the push lock tries to take it (its holder may have died). */
const LOCK_RETRY_MS = 10_000;
/** Reconnection after a lost stream: 1 s, doubling up to this. */
const MAX_BACKOFF_MS = 30_000;

/**
 * Pushed changes (LDAP_SYNC_PUSH): one replica at a time (the `ldap-sync-push` lock, taken over by another when
 * its holder dies) keeps the directory's change stream open, and each change written there starts a delta
 * shortly after (batched), through the same path, safety rules and run records as a scheduled one. The
 * scheduled delta stays the safety net for anything a stream can miss (a dropped connection, a restart).
 */
@Injectable()
export class LdapSyncPush implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapSyncPush.name);
  private readonly stop = new AbortController();
  private loop?: Promise<void>;
  private batch?: NodeJS.Timeout;
  private deltaAgain = false;
  private delta?: Promise<void>;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly directory: LdapDirectory,
    private readonly store: LdapSyncStore,
    private readonly lock: LdapSyncLock,
    private readonly sync: LdapSyncService,
  ) {}

  onApplicationBootstrap(): void {
    const { push, deltaInterval } = this.options.sync;
    // The polled delta is the safety net: without it (or without the service account) no push either.
    if (!push || !deltaInterval) return;
    this.loop = this.holdAndWatch().catch((error: unknown) =>
      this.logger.error(`Pushed LDAP changes stopped: ${errorText(error)}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop.abort();
    clearTimeout(this.batch);
    await this.loop;
    await this.delta;
  }

  /** Takes the push lock when free, then watches until the app stops. */
  private async holdAndWatch(): Promise<void> {
    const { signal } = this.stop;
    while (!signal.aborted) {
      const held = await this.lock.tryLock('ldap-sync-push').catch(() => undefined);
      if (!held) {
        await sleep(LOCK_RETRY_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      try {
        if (!(await this.watch())) return;
      } finally {
        await held.release().catch(() => undefined);
      }
    }
  }

  /** Watches, reconnecting after each loss; false when the directory has no change stream to offer. */
  private async watch(): Promise<boolean> {
    const { signal } = this.stop;
    let backoff = 1000;
    while (!signal.aborted) {
      const text = await this.store.readCursor();
      const cursor = text === undefined ? undefined : parseSyncCursor(text).cursor;
      if (!cursor) {
        // The first scheduled delta makes one: the stream then starts from it, not from every entry.
        await sleep(LOCK_RETRY_MS, undefined, { signal }).catch(() => undefined);
        continue;
      }
      const started = Date.now();
      try {
        this.logger.log('Watching the directory for changes (pushed LDAP changes, LDAP_SYNC_PUSH)');
        await this.directory.watchChanges(cursor, () => this.changed(), signal);
      } catch (error) {
        if (signal.aborted) return true;
        if (error instanceof DeltaUnavailableError) {
          this.logger.log(
            `No pushed LDAP changes: ${error.message}; deltas every ${this.options.sync.deltaInterval} s`,
          );
          return false;
        }
        if (Date.now() - started > 60_000) backoff = 1000;
        this.logger.warn(
          `The directory's change stream was lost (${errorText(error)}): reconnecting in ${backoff / 1000} s`,
        );
      }
      // What happened while the stream was down is read now, then the stream is opened again.
      this.changed();
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
    return true;
  }

  /** A change was written: a delta shortly, once for everything arriving meanwhile. */
  private changed(): void {
    if (this.batch || this.stop.signal.aborted) return;
    this.batch = setTimeout(() => {
      this.batch = undefined;
      void this.runDelta();
    }, BATCH_MS);
  }

  private async runDelta(): Promise<void> {
    if (this.delta || this.sync.running) {
      // One is going on: another after it, for what it may not have seen.
      this.deltaAgain = true;
      if (!this.delta) setTimeout(() => this.changed(), BATCH_MS).unref();
      return this.delta;
    }
    this.delta = (async () => {
      do {
        this.deltaAgain = false;
        const report = await this.sync.run({ delta: true });
        if (report.status === 'skipped') this.deltaAgain = true;
        if (this.deltaAgain) await sleep(BATCH_MS);
      } while (this.deltaAgain && !this.stop.signal.aborted);
    })()
      .catch((error: unknown) => this.logger.error(`Pushed LDAP delta failed: ${errorText(error)}`))
      .finally(() => (this.delta = undefined));
    return this.delta;
  }
}
