import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  databaseOptionsFromUrl,
  ldapAuthConfig,
  LdapAuthModule,
  ldapAuthOptionsFromEnvironment,
} from '@nest-ldap-auth/ldap-auth';
import { closedPort, startRecordingProxy } from './support/tcp-proxy.js';

/**
 * A user's own app, no demo code: the library's module configured from the environment as its README shows,
 * started as `node` runs it, with Nest's default logger and options (an error at start-up is logged and exits 1).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USER_APP = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LdapAuthModule, ldapAuthConfig, databaseOptionsFromUrl } from '@nest-ldap-auth/ldap-auth';

class AppModule {}
Module({
  imports: [
    TypeOrmModule.forRoot(databaseOptionsFromUrl('sqlite::memory:')),
    LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider()),
  ],
})(AppModule);
const app = await NestFactory.create(AppModule);
await app.listen(0, '127.0.0.1');
console.log('user app listening');
`;

/** This machine's environment minus every LDAP_* variable, plus `env`. */
function envWith(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('LDAP_')));
  return { ...clean, NO_COLOR: '1', ...env };
}

/** Apps still running: stopped after each test, so one that never prints what a test waits for cannot linger. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs the user app until its output matches `until` (then stops it) or it exits; returns what it printed. */
function runUserApp(env: Record<string, string>, until?: RegExp): Promise<{ output: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', USER_APP], {
      cwd: ROOT,
      env: envWith(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let output = '';
    let matched = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!matched && until?.test(output)) {
        matched = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      running.delete(child);
      resolve({ output, code: matched ? null : code });
    });
  });
}

const STACK_FRAME = /^\s+at /m;

beforeAll(() => {
  // The user app imports the package as built (libs/ldap-auth/dist).
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-if-stale.mjs')], { cwd: ROOT, stdio: 'inherit' });
});

describe("a configuration error in a user's app configured from the environment", () => {
  it('names LDAP_AUTH_URL when it is unset, in one message with no stack trace, and exits 1', async () => {
    const { output, code } = await runUserApp({});
    expect(code).toBe(1);
    expect(output).toMatch(
      /ERROR \[ExceptionHandler\] LdapConfigurationError: Invalid LDAP configuration:\n {2}- LDAP_AUTH_URL is not set: at least one ldap:\/\/ or ldaps:\/\/ URL is required\n/,
    );
    expect(output).not.toContain('server.url');
    expect(output).not.toMatch(STACK_FRAME);
    // The problems are said once, not again as a dump of the error's fields.
    expect(output.split('LDAP_AUTH_URL is not set')).toHaveLength(2);
  });

  it('names LDAP_AUTH_URL when it is not an LDAP URL, with no stack trace', async () => {
    const { output, code } = await runUserApp({ LDAP_AUTH_URL: 'htp://x' });
    expect(code).toBe(1);
    expect(output).toContain('LDAP_AUTH_URL must be one or more ldap:// or ldaps:// URLs');
    expect(output).not.toMatch(STACK_FRAME);
  });

  it('rejects Test.createTestingModule and forRoot with the variable, not the option path', async () => {
    const compile = (ldapModule: ReturnType<typeof LdapAuthModule.forRoot>) =>
      Test.createTestingModule({
        imports: [TypeOrmModule.forRoot(databaseOptionsFromUrl('sqlite::memory:')), ldapModule],
      }).compile();
    const saved = process.env;
    process.env = envWith({});
    try {
      await expect(compile(LdapAuthModule.forRootAsync(ldapAuthConfig.asProvider()))).rejects.toThrow(
        /LDAP_AUTH_URL is not set/,
      );
      // forRoot copies its options (to drop isGlobal and the classes): the record of variables goes along.
      const fromEnv = ldapAuthOptionsFromEnvironment(process.env);
      await expect(compile(LdapAuthModule.forRoot({ ...fromEnv, isGlobal: true }))).rejects.toThrow(
        /LDAP_AUTH_URL is not set/,
      );
    } finally {
      process.env = saved;
    }
  });
});

describe("a user's app whose directory cannot be reached at start-up", () => {
  it('starts, and the library warns once with the URL tried and the cause', async () => {
    const url = `ldap://127.0.0.1:${await closedPort()}`;
    const { output } = await runUserApp({ LDAP_AUTH_URL: url }, /^(?=[\s\S]*user app listening)(?=[\s\S]*at start-up)/);
    const warnings = output.split('\n').filter((line) => line.includes('[LdapHealthIndicator]'));
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `WARN \\[LdapHealthIndicator\\] The directory cannot be reached at start-up: ${url}: .*ECONNREFUSED.*; logins fail \\(503\\) until it answers$`,
        ),
      ),
    ]);
  });

  it('does not wait for a directory that never answers: it listens first, then warns', async () => {
    const hung = await startRecordingProxy(0, 'blackHole');
    try {
      const url = `ldap://127.0.0.1:${hung.port}`;
      const { output } = await runUserApp({ LDAP_AUTH_URL: url }, /at start-up.*\n/);
      expect(output.indexOf('user app listening')).toBeGreaterThan(-1);
      expect(output.indexOf('user app listening')).toBeLessThan(output.indexOf('at start-up'));
      expect(output).toMatch(new RegExp(`cannot be reached at start-up: no directory server answered .*${url}`));
    } finally {
      await hung.close();
    }
  }, 30_000);
});
