import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { DEFAULT_DATABASE_URL, LdapConfigurationError, redactUrl } from '@app/ldap-auth';

export interface AppConfig {
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string;
  jwtSecret: string;
  jwtExpiresIn: string;
  /** Login attempts allowed per client (IPv4 address or IPv6 /64) and account in each window. */
  loginThrottleLimit: number;
  /** Length of the window, whole seconds (Redis expiry works in seconds). */
  loginThrottleTtlSeconds: number;
  /** Counters shared in Redis by every replica; unset: in this process's memory. */
  loginThrottleRedisUrl?: string;
  /** Most counters kept in this process's memory (the store, or the fallback while Redis is down). */
  loginThrottleMaxKeys: number;
  /** Prefix of the counters' keys (separates apps or environments sharing one Redis). */
  loginThrottleKeyPrefix: string;
}

export const DEFAULT_LOGIN_THROTTLE_MAX_KEYS = 50_000;

let processSecret: string | undefined;
let warned = false;

/** The demo app's own variables (the LDAP ones are the library's: `ldapAuthConfig`). */
export function appConfigFromEnvironment(env: Record<string, string | undefined>): AppConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const port = env.PORT?.trim() ? Number(env.PORT) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    problems.push(`PORT must be a port number (got ${JSON.stringify(env.PORT)})`);
  let jwtSecret = env.JWT_SECRET ?? '';
  if (!jwtSecret) {
    if (production) problems.push('JWT_SECRET is required when NODE_ENV=production (it signs the access tokens)');
    // One random secret per process, so every reader of the config signs and verifies with the same one.
    jwtSecret = processSecret ??= randomBytes(32).toString('hex');
    if (!production && !warned) {
      warned = true;
      new Logger('AppConfig').warn(
        'JWT_SECRET is not set: using a random secret, so tokens stop working at every restart',
      );
    }
  } else if (jwtSecret.length < 16) {
    problems.push('JWT_SECRET must be at least 16 characters');
  }
  const wholePositive = (name: string, fallback: number) => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value <= 0)
      problems.push(`${name} must be a whole number greater than 0 (got ${JSON.stringify(text)})`);
    return value;
  };
  const loginThrottleLimit = wholePositive('LOGIN_THROTTLE_LIMIT', 10);
  const loginThrottleTtlSeconds = wholePositive('LOGIN_THROTTLE_TTL', 60);
  const loginThrottleMaxKeys = wholePositive('LOGIN_THROTTLE_MAX_KEYS', DEFAULT_LOGIN_THROTTLE_MAX_KEYS);
  const loginThrottleRedisUrl = env.LOGIN_THROTTLE_REDIS_URL?.trim() || undefined;
  if (loginThrottleRedisUrl && !isRedisUrl(loginThrottleRedisUrl))
    problems.push(
      `LOGIN_THROTTLE_REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (got ${JSON.stringify(redactUrl(loginThrottleRedisUrl))})`,
    );
  const loginThrottleKeyPrefix = env.LOGIN_THROTTLE_KEY_PREFIX?.trim() || 'login-throttle';
  if (!/^[\w.:-]{1,64}$/.test(loginThrottleKeyPrefix))
    problems.push(
      `LOGIN_THROTTLE_KEY_PREFIX must be 1 to 64 letters, digits or ._:- (got ${JSON.stringify(loginThrottleKeyPrefix)})`,
    );
  if (problems.length) throw new LdapConfigurationError(problems);
  return {
    loginThrottleLimit,
    loginThrottleTtlSeconds,
    loginThrottleRedisUrl,
    loginThrottleMaxKeys,
    loginThrottleKeyPrefix,
    production,
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    databaseUrl: env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL,
    jwtSecret,
    jwtExpiresIn: env.JWT_EXPIRES_IN?.trim() || '1h',
  };
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && !!url.hostname;
  } catch {
    return false;
  }
}

export const appConfig = registerAs('app', () => appConfigFromEnvironment(process.env));
