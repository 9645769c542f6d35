import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { assertValidConfiguration, isConfigurationError } from '../config/configuration-check.js';
import { EntryPointLogger } from '../logging/entry-point-logger.js';

/**
 * The demo app as a one-shot command (`npm run sync`, `npm run users:link`) runs it: every variable checked first
 * (one message listing all problems), no schedule, logs on stderr (stdout is the command's report).
 */
export async function createCommandContext(): Promise<INestApplicationContext> {
  // This process runs once and exits: the app's schedule must not start in it.
  process.env.LDAP_SYNC_ENABLED = 'false';
  // Nobody scrapes a one-shot process: its runs show in ldap_sync_runs (and the app's last-success gauge).
  process.env.METRICS_ENABLED = 'false';
  await assertValidConfiguration(process.env);
  return NestFactory.createApplicationContext(AppModule, {
    // The caller's catch prints a configuration error.
    logger: new EntryPointLogger({ reportedByCaller: isConfigurationError, stderrOnly: true }),
    abortOnError: false,
  });
}
