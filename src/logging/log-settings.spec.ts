import { describe, expect, it } from '@jest/globals';
import { AppConfigurationError, appConfigFromEnvironment } from '../config/app.config.js';
import { logSettingsFromEnvironment } from './log-settings.js';

describe('logSettingsFromEnvironment', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };

  it('writes text, in colour on a terminal only, at log level and above by default', () => {
    expect(logSettingsFromEnvironment({}, tty)).toEqual({
      json: false,
      colors: true,
      logLevels: ['fatal', 'error', 'warn', 'log'],
    });
    expect(logSettingsFromEnvironment({}, pipe).colors).toBe(false);
  });

  it('honours NO_COLOR, and never colours JSON', () => {
    expect(logSettingsFromEnvironment({ NO_COLOR: '1' }, tty).colors).toBe(false);
    expect(logSettingsFromEnvironment({ LOG_FORMAT: 'json' }, tty)).toMatchObject({ json: true, colors: false });
    // Structured logs in production unless asked otherwise.
    expect(logSettingsFromEnvironment({ NODE_ENV: 'production' }, pipe)).toMatchObject({ json: true });
    expect(logSettingsFromEnvironment({ NODE_ENV: 'production', LOG_FORMAT: 'text' }, pipe)).toMatchObject({
      json: false,
    });
    expect(logSettingsFromEnvironment({}, pipe)).toMatchObject({ json: false });
  });

  it('takes LOG_LEVEL as the least severe level written', () => {
    expect(logSettingsFromEnvironment({ LOG_LEVEL: 'debug' }, pipe).logLevels).toContain('debug');
    expect(logSettingsFromEnvironment({ LOG_LEVEL: 'warn' }, pipe).logLevels).toEqual(['fatal', 'error', 'warn']);
  });

  it('refuses a value it does not know, naming the variable', () => {
    expect(() => logSettingsFromEnvironment({ LOG_FORMAT: 'xml' }, pipe)).toThrow(/LOG_FORMAT must be text or json/);
    expect(() => logSettingsFromEnvironment({ LOG_LEVEL: 'loud' }, pipe)).toThrow(/LOG_LEVEL must be one of/);
  });

  it('is checked with the app configuration, so start-up lists it with the other problems', () => {
    expect(() => appConfigFromEnvironment({ LOG_FORMAT: 'xml', JWT_SECRET: 'x'.repeat(16) })).toThrow(
      AppConfigurationError,
    );
  });
});
