import { ConsoleLogger, type LogLevel } from '@nestjs/common';

export interface EntryPointLoggerOptions {
  /**
   * Errors the entry point reports itself (a configuration error, whose message says everything): Nest's own
   * report of them during start-up (a stack trace and a dump of the error's fields) is left out.
   */
  reportedByCaller: (error: unknown) => boolean;
  /** Every line on stderr, for a command whose stdout is its report. Default: Nest's (errors on stderr). */
  stderrOnly?: boolean;
  logLevels?: LogLevel[];
}

/** Nest's console logger for the demo's entry points: `npm start`, `npm run sync`, `npm run ldap:check`. */
export class EntryPointLogger extends ConsoleLogger {
  constructor(private readonly settings: EntryPointLoggerOptions) {
    super(settings.logLevels ? { logLevels: settings.logLevels } : {});
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
    super.printMessages(messages, context, logLevel, this.settings.stderrOnly ? 'stderr' : writeStreamType, ...rest);
  }
}
