import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import {
  DEFAULT_DATABASE_URL,
  LdapConfigurationError,
  databaseOptionsFromUrl,
  normalizeDn,
  redactUrl,
} from '@nest-ldap-auth/ldap-auth';
import { logSettingsFromEnvironment } from '../logging/log-settings.js';
import { HTTP_ADAPTERS, type HttpAdapterKind } from '../http/http-adapter-kind.js';

/** Heading of the demo app's own configuration problems (the LDAP library's are "Invalid LDAP configuration"). */
export const APP_CONFIGURATION_HEADING = 'Invalid app configuration';

/**
 * A variable of the demo app itself (PORT, HTTP_ADAPTER, JWT_SECRET, DATABASE_URL, LOGIN_THROTTLE_*, METRICS_ENABLED, LDAP_ADMIN_GROUP,
 * LDAP_DEV_DIRECTORY_LDIF) is wrong. Each problem names the variable and says what is allowed.
 */
export class AppConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`${APP_CONFIGURATION_HEADING}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AppConfigurationError';
  }
}

export interface AppConfig {
  production: boolean;
  port: number;
  /** Express (the default) or Fastify: see src/http/http-platform.ts. */
  httpAdapter: HttpAdapterKind;
  host: string;
  databaseUrl: string;
  jwtSecret: string;
  jwtExpiresIn: string;
  /** Failed logins allowed per client (IPv4 address or IPv6 /64) and account in each window. */
  loginThrottleLimit: number;
  /** Length of the window, whole seconds (Redis expiry works in seconds). */
  loginThrottleTtlSeconds: number;
  /** Failed logins allowed per client over all accounts in each window: the keys one client may add. */
  loginThrottleClientLimit: number;
  /** Failed logins allowed per account over all clients in each account window. */
  loginThrottleAccountLimit: number;
  /** Length of the account window, whole seconds. */
  loginThrottleAccountTtlSeconds: number;
  /** Counters shared in Redis by every replica; unset: in this process's memory. */
  loginThrottleRedisUrl?: string;
  /** Most keys each counter keeps in this process's memory (the store, or the fallback while Redis is down). */
  loginThrottleMaxKeys: number;
  /** Prefix of the counters' keys (separates apps or environments sharing one Redis). */
  loginThrottleKeyPrefix: string;
  /** `GET /metrics` (Prometheus text) and the OpenTelemetry SDK behind it; off: 404 and nothing recorded. */
  metricsEnabled: boolean;
  /** DN of the group whose members may use the LDAP admin page (/admin/ldap); unset: the page is off (404). */
  adminGroup?: string;
}

export const DEFAULT_LOGIN_THROTTLE_MAX_KEYS = 50_000;

let processSecret: string | undefined;
let warned = false;

/** A positive time span as jsonwebtoken reads it (the `ms` package's grammar). */
const DURATION =
  /^(\d+(\.\d+)?|\.\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$/i;

/**
 * The demo app's own variables (the LDAP ones are the library's: `ldapAuthConfig`). Throws
 * AppConfigurationError listing every problem. `warnings: false` checks without logging (start-up's one pass).
 */
export function appConfigFromEnvironment(
  env: Record<string, string | undefined>,
  { warnings = true }: { warnings?: boolean } = {},
): AppConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const portText = env.PORT?.trim();
  const port = portText ? Number(portText) : 3000;
  if (portText && (!/^\d+$/.test(portText) || port > 65535))
    problems.push(
      `PORT must be a port number from 1 to 65535, or 0 for any free port (got ${JSON.stringify(env.PORT)})`,
    );
  let jwtSecret = env.JWT_SECRET ?? '';
  if (!jwtSecret) {
    if (production) problems.push('JWT_SECRET is required when NODE_ENV=production (it signs the access tokens)');
    // One random secret per process, so every reader of the config signs and verifies with the same one.
    jwtSecret = processSecret ??= randomBytes(32).toString('hex');
    if (!production && warnings && !warned) {
      warned = true;
      new Logger('AppConfig').warn(
        'JWT_SECRET is not set: using a random secret, so tokens stop working at every restart',
      );
    }
  } else if (jwtSecret.length < 16) {
    // Never echo the secret itself.
    problems.push(`JWT_SECRET must be at least 16 characters (it has ${jwtSecret.length})`);
  }
  const jwtExpiresIn = env.JWT_EXPIRES_IN?.trim() || '1h';
  if (!DURATION.test(jwtExpiresIn))
    problems.push(
      `JWT_EXPIRES_IN must be a duration such as 15m, 1h, 7d or "2 days" (a bare number counts milliseconds; got ${JSON.stringify(jwtExpiresIn)})`,
    );
  const databaseUrl = env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL;
  try {
    databaseOptionsFromUrl(databaseUrl);
  } catch (error) {
    if (error instanceof LdapConfigurationError) problems.push(...error.problems);
    else
      problems.push(
        `DATABASE_URL: cannot prepare ${JSON.stringify(redactUrl(databaseUrl))} (${error instanceof Error ? error.message : String(error)})`,
      );
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
  const loginThrottleClientLimit = wholePositive('LOGIN_THROTTLE_CLIENT_LIMIT', 100);
  const loginThrottleAccountLimit = wholePositive('LOGIN_THROTTLE_ACCOUNT_LIMIT', 50);
  const loginThrottleAccountTtlSeconds = wholePositive('LOGIN_THROTTLE_ACCOUNT_TTL', 900);
  const loginThrottleMaxKeys = wholePositive('LOGIN_THROTTLE_MAX_KEYS', DEFAULT_LOGIN_THROTTLE_MAX_KEYS);
  try {
    logSettingsFromEnvironment(env, {}); // read again by each entry point's logger; checked here with the rest
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
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
  const metricsText = env.METRICS_ENABLED?.trim().toLowerCase() || 'true';
  if (metricsText !== 'true' && metricsText !== 'false')
    problems.push(`METRICS_ENABLED must be true or false (got ${JSON.stringify(env.METRICS_ENABLED)})`);
  const adminGroup = env.LDAP_ADMIN_GROUP?.trim() || undefined;
  if (adminGroup && !isDn(adminGroup))
    problems.push(
      `LDAP_ADMIN_GROUP must be the DN of a group, such as cn=ldap-admins,ou=groups,dc=example,dc=com (got ${JSON.stringify(adminGroup)})`,
    );
  const httpAdapter = (env.HTTP_ADAPTER?.trim().toLowerCase() || 'express') as HttpAdapterKind;
  if (!HTTP_ADAPTERS.includes(httpAdapter))
    problems.push(`HTTP_ADAPTER must be express or fastify (got ${JSON.stringify(env.HTTP_ADAPTER)})`);
  if (problems.length) throw new AppConfigurationError(problems);
  return {
    httpAdapter,
    adminGroup,
    metricsEnabled: metricsText !== 'false',
    loginThrottleLimit,
    loginThrottleTtlSeconds,
    loginThrottleClientLimit,
    loginThrottleAccountLimit,
    loginThrottleAccountTtlSeconds,
    loginThrottleRedisUrl,
    loginThrottleMaxKeys,
    loginThrottleKeyPrefix,
    production,
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    databaseUrl,
    jwtSecret,
    jwtExpiresIn,
  };
}

function isDn(text: string): boolean {
  try {
    return normalizeDn(text).includes('=');
  } catch {
    return false;
  }
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
