import { describe, expect, it } from '@jest/globals';
import { appConfigFromEnvironment, DEFAULT_LOGIN_THROTTLE_MAX_KEYS } from '../config/app.config.js';

const base = { JWT_SECRET: 'unit-secret-unit-secret' };

describe('login throttle variables', () => {
  it('defaults: 10 failures per client and account, 100 per client in 60 s, 50 per account in 900 s, in memory', () => {
    const config = appConfigFromEnvironment(base);
    expect(config).toMatchObject({
      loginThrottleLimit: 10,
      loginThrottleTtlSeconds: 60,
      loginThrottleClientLimit: 100,
      loginThrottleAccountLimit: 50,
      loginThrottleAccountTtlSeconds: 900,
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
      LOGIN_THROTTLE_CLIENT_LIMIT: '40',
      LOGIN_THROTTLE_ACCOUNT_LIMIT: '20',
      LOGIN_THROTTLE_ACCOUNT_TTL: '3600',
      LOGIN_THROTTLE_REDIS_URL: ' rediss://:pw@redis.internal:6380/2 ',
      LOGIN_THROTTLE_MAX_KEYS: '1000',
      LOGIN_THROTTLE_KEY_PREFIX: 'app:prod',
    });
    expect(config).toMatchObject({
      loginThrottleLimit: 3,
      loginThrottleTtlSeconds: 120,
      loginThrottleClientLimit: 40,
      loginThrottleAccountLimit: 20,
      loginThrottleAccountTtlSeconds: 3600,
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
        LOGIN_THROTTLE_CLIENT_LIMIT: 'many',
        LOGIN_THROTTLE_ACCOUNT_LIMIT: '0',
        LOGIN_THROTTLE_ACCOUNT_TTL: '1.5',
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
      'LOGIN_THROTTLE_CLIENT_LIMIT',
      'LOGIN_THROTTLE_ACCOUNT_LIMIT',
      'LOGIN_THROTTLE_ACCOUNT_TTL',
      'LOGIN_THROTTLE_REDIS_URL',
      'LOGIN_THROTTLE_MAX_KEYS',
      'LOGIN_THROTTLE_KEY_PREFIX',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('secret');
  });
});
