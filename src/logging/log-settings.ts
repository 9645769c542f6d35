import type { LogLevel } from '@nestjs/common';

/** How the demo's entry points log, from LOG_FORMAT, LOG_LEVEL and NO_COLOR. */
export interface LogSettings {
  json: boolean;
  logLevels: LogLevel[];
  colors: boolean;
}

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * LOG_FORMAT: `text` or `json` (one JSON object a line, for a log collector); `json` by default with
 * NODE_ENV=production, `text` otherwise. LOG_LEVEL: the least
 * severe level written (`log` by default; `debug` adds one line per successful login). Colours only on a
 * terminal, and never with NO_COLOR set (https://no-color.org), so files and pipes get plain text.
 */
export function logSettingsFromEnvironment(env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): LogSettings {
  const fallback = env.NODE_ENV === 'production' ? 'json' : 'text';
  const format = (env.LOG_FORMAT ?? fallback).trim().toLowerCase() || fallback;
  if (format !== 'text' && format !== 'json') throw new Error(`LOG_FORMAT must be text or json (got "${format}")`);
  const level = ((env.LOG_LEVEL ?? 'log').trim().toLowerCase() || 'log') as LogLevel;
  const least = LEVELS.indexOf(level);
  if (least < 0) throw new Error(`LOG_LEVEL must be one of ${LEVELS.join(', ')} (got "${level}")`);
  const json = format === 'json';
  return {
    json,
    logLevels: LEVELS.slice(0, least + 1),
    colors: !json && stream.isTTY === true && !env.NO_COLOR,
  };
}
