import { describe, expect, it } from '@jest/globals';
import { appConfigFromEnvironment, DEFAULT_LOGIN_THROTTLE_MAX_KEYS } from '../config/app.config.js';

const base = { JWT_SECRET: 'unit-secret-unit-secret' };

describe('login throttle variables', () => {
  it('defaults: 10 attempts per 60 s, in memory, bounded', () => {
    const config = appConfigFromEnvironment(base);
    expect(config).toMatchObject({
      loginThrottleLimit: 10,
      loginThrottleTtlSeconds: 60,
      loginThrottleRedisUrl: undefined,
      loginThrottleMaxKeys: DEFAULT_LOGIN_THROTTLE_MAX_KEYS,
      loginThrottleKeyPrefix: 'login-throttle',
    });
  });

  it('reads every variable', () => {
    const config = appConfigFromEnvironment({
      ...base,
      LOGIN_THROTTLE_LIMIT: '3',
      LOGIN_THROTTLE_TTL: '120',
      LOGIN_THROTTLE_REDIS_URL: ' rediss://:pw@redis.internal:6380/2 ',
      LOGIN_THROTTLE_MAX_KEYS: '1000',
      LOGIN_THROTTLE_KEY_PREFIX: 'app:prod',
    });
    expect(config).toMatchObject({
      loginThrottleLimit: 3,
      loginThrottleTtlSeconds: 120,
      loginThrottleRedisUrl: 'rediss://:pw@redis.internal:6380/2',
      loginThrottleMaxKeys: 1000,
      loginThrottleKeyPrefix: 'app:prod',
    });
  });

  it('names every wrong value at once, without printing a Redis password', () => {
    let message = '';
    try {
      appConfigFromEnvironment({
        ...base,
        LOGIN_THROTTLE_LIMIT: '2.5',
        LOGIN_THROTTLE_TTL: '0',
        LOGIN_THROTTLE_REDIS_URL: 'http://:secret@redis:6379',
        LOGIN_THROTTLE_MAX_KEYS: '-1',
        LOGIN_THROTTLE_KEY_PREFIX: 'has space',
      });
    } catch (error) {
      message = String(error);
    }
    for (const name of [
      'LOGIN_THROTTLE_LIMIT',
      'LOGIN_THROTTLE_TTL',
      'LOGIN_THROTTLE_REDIS_URL',
      'LOGIN_THROTTLE_MAX_KEYS',
      'LOGIN_THROTTLE_KEY_PREFIX',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('secret');
  });
});
