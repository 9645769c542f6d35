import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CronJob } from 'cron';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { LdapSyncService } from './ldap-sync.service.js';
import { errorText } from '../logging/one-line.js';

/** Name of the job in @nestjs/schedule's SchedulerRegistry, when the app has one. */
export const LDAP_SYNC_CRON_JOB = 'ldap-sync';

/**
 * Runs the full sync on LDAP_SYNC_CRON when LDAP_SYNC_ENABLED is on, and a delta every
 * LDAP_SYNC_DELTA_INTERVAL seconds. The job is the library's own (a
 * `cron` CronJob): the app's `ScheduleModule.forRoot()` is never called a second time; when the app has
 * one, the job is also listed in its SchedulerRegistry. Ticks wait for the previous run (never overlap),
 * and a run that fails is logged: it never takes the app down.
 */
@Injectable()
export class LdapSyncScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapSyncScheduler.name);
  private job?: CronJob;
  private deltaTimer?: NodeJS.Timeout;
  private deltaRunning?: Promise<void>;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly sync: LdapSyncService,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduleDeltas();
    const { cron, enabled } = this.options.sync;
    if (!enabled) return;
    this.job = CronJob.from({
      cronTime: cron,
      onTick: () => this.tick(),
      waitForCompletion: true,
      start: true,
    });
    this.registerWithApp(this.job);
    this.logger.log(`Full LDAP sync scheduled (LDAP_SYNC_CRON "${cron}"), next run ${this.job.nextDate().toISO()}`);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.deltaTimer);
    await this.job?.stop();
    await this.deltaRunning;
  }

  /** One scheduled delta; public for tests. Skipped while any run of this process goes on. */
  async deltaTick(): Promise<void> {
    if (this.deltaRunning || this.sync.running) return;
    this.deltaRunning = this.sync
      .run({ delta: true })
      .then(() => undefined)
      .catch((error: unknown) => this.logger.error(`Scheduled LDAP delta sync failed: ${errorText(error)}`))
      .finally(() => (this.deltaRunning = undefined));
    await this.deltaRunning;
  }

  /** Deltas every LDAP_SYNC_DELTA_INTERVAL seconds (0: none): what changed, between full syncs. */
  private scheduleDeltas(): void {
    const seconds = this.options.sync.deltaInterval;
    if (!seconds) return;
    this.deltaTimer = setInterval(() => void this.deltaTick(), seconds * 1000);
    this.deltaTimer.unref();
    this.logger.log(`LDAP delta sync every ${seconds} s (LDAP_SYNC_DELTA_INTERVAL)`);
  }

  /** One scheduled run; public for tests (fake timers drive the job). */
  async tick(): Promise<void> {
    try {
      await this.sync.run();
    } catch (error) {
      this.logger.error(`Scheduled LDAP sync failed: ${errorText(error)}`);
    }
  }

  /** Lists the job in the app's SchedulerRegistry when @nestjs/schedule is set up (optional). */
  private registerWithApp(job: CronJob): void {
    void import('@nestjs/schedule')
      .then(({ SchedulerRegistry }) => {
        const registry = this.moduleRef.get(SchedulerRegistry, { strict: false });
        if (!registry.doesExist('cron', LDAP_SYNC_CRON_JOB)) registry.addCronJob(LDAP_SYNC_CRON_JOB, job);
      })
      .catch(() => undefined);
  }
}
