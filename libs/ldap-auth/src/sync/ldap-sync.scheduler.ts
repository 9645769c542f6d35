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
 * Runs the full sync on LDAP_SYNC_CRON when LDAP_SYNC_ENABLED is on. The job is the library's own (a
 * `cron` CronJob): the app's `ScheduleModule.forRoot()` is never called a second time; when the app has
 * one, the job is also listed in its SchedulerRegistry. Ticks wait for the previous run (never overlap),
 * and a run that fails is logged: it never takes the app down.
 */
@Injectable()
export class LdapSyncScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LdapSyncScheduler.name);
  private job?: CronJob;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly sync: LdapSyncService,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
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
    await this.job?.stop();
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
