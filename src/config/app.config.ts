import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { DEFAULT_DATABASE_URL, LdapConfigurationError } from '@app/ldap-auth';

export interface AppConfig {
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string;
  jwtSecret: string;
  jwtExpiresIn: string;
  /** Login attempts allowed per client address and username in each window. */
  loginThrottleLimit: number;
  loginThrottleTtlMs: number;
}

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
  const positive = (name: string, fallback: number) => {
    const text = env[name]?.trim();
    if (!text) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0)
      problems.push(`${name} must be a number greater than 0 (got ${JSON.stringify(text)})`);
    return value;
  };
  const loginThrottleLimit = positive('LOGIN_THROTTLE_LIMIT', 10);
  const loginThrottleTtlMs = positive('LOGIN_THROTTLE_TTL', 60) * 1000;
  if (problems.length) throw new LdapConfigurationError(problems);
  return {
    loginThrottleLimit,
    loginThrottleTtlMs,
    production,
    port,
    host: env.HOST?.trim() || '127.0.0.1',
    databaseUrl: env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL,
    jwtSecret,
    jwtExpiresIn: env.JWT_EXPIRES_IN?.trim() || '1h',
  };
}

export const appConfig = registerAs('app', () => appConfigFromEnvironment(process.env));
