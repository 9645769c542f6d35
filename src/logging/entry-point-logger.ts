import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { oneLine } from '@nest-ldap-auth/ldap-auth';
import { logSettingsFromEnvironment } from './log-settings.js';

export interface EntryPointLoggerOptions {
  /**
   * Errors the entry point reports itself (a configuration error, whose message says everything): Nest's own
   * report of them during start-up (a stack trace and a dump of the error's fields) is left out.
   */
  reportedByCaller: (error: unknown) => boolean;
  /** Every line on stderr, for a command whose stdout is its report. Default: Nest's (errors on stderr). */
  stderrOnly?: boolean;
  /** Overrides LOG_LEVEL. */
  logLevels?: LogLevel[];
  /** Default: the process's (LOG_FORMAT, LOG_LEVEL, NO_COLOR). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Nest's console logger for the demo's entry points: `npm start`, `npm run sync`, `npm run ldap:check`.
 * One line per event: line breaks in a message (or a stack trace) are folded; JSON with LOG_FORMAT=json.
 */
export class EntryPointLogger extends ConsoleLogger {
  constructor(private readonly settings: EntryPointLoggerOptions) {
    const log = logSettingsFromEnvironment(
      settings.env ?? process.env,
      settings.stderrOnly ? process.stderr : process.stdout,
    );
    super({ json: log.json, colors: log.colors, logLevels: settings.logLevels ?? log.logLevels });
  }

  override error(message: unknown, ...rest: unknown[]): void {
    if (this.settings.reportedByCaller(message)) return;
    super.error(message, ...rest);
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    ...rest: [errorStack?: unknown, params?: Record<string, unknown>]
  ): void {
    const folded = messages.map((message) => (typeof message === 'string' ? oneLine(message) : message));
    super.printMessages(folded, context, logLevel, this.settings.stderrOnly ? 'stderr' : writeStreamType, ...rest);
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack ? oneLine(stack) : stack);
  }
}
