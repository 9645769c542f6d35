import { describe, expect, it } from '@jest/globals';
import { AppConfigurationError, appConfigFromEnvironment } from './app.config.js';

describe('HTTP_ADAPTER', () => {
  const read = (value?: string) => appConfigFromEnvironment({ HTTP_ADAPTER: value }, { warnings: false });

  it('is Express unless Fastify is asked for', () => {
    expect(read(undefined).httpAdapter).toBe('express');
    expect(read('').httpAdapter).toBe('express');
    expect(read(' Fastify ').httpAdapter).toBe('fastify');
  });

  it('stops start-up naming the variable for any other value', () => {
    expect(() => read('koa')).toThrow(AppConfigurationError);
    expect(() => read('koa')).toThrow('HTTP_ADAPTER must be express or fastify (got "koa")');
  });
});
