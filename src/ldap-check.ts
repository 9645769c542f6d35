/**
 * `npm run ldap:check -- [--user NAME] [--json]`: the step-by-step diagnosis of the LDAP configuration, in a
 * standalone Nest application context (no HTTP server), configured by the same environment variables as the
 * app. With --user, the password is read from stdin (hidden on a terminal), never from the arguments.
 *
 * Exit codes: 0 every step passed (warnings allowed), 1 a step failed, 2 the configuration is invalid
 * (nothing was contacted), 64 wrong arguments, 130 interrupted at the password prompt. With --json, stdout
 * holds exactly one JSON object (the report) and everything else goes to stderr.
 *
 * Nothing is written anywhere: the library's database needs are met by an in-memory SQLite database that
 * lives and dies with this process; the app's DATABASE_URL is not opened.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CHECK_EXIT_CODES,
  type CheckReport,
  configurationFailureReport,
  databaseOptionsFromUrl,
  formatCheckReport,
  LdapCheck,
  LdapConfigurationError,
} from '@nest-ldap-auth/ldap-auth';
import { demoLdapAuthModule } from './dev-directory/demo-ldap-auth.module.js';
import { EntryPointLogger } from './logging/entry-point-logger.js';

const INTERRUPTED = 130;
/** Longest password line read from a pipe. */
const MAX_PASSWORD_BYTES = 64 * 1024;

const USAGE = `usage: npm run ldap:check -- [--user NAME] [--json]
  --user NAME  also check NAME's login (the password is read from stdin; hidden on a terminal)
  --json       print the report as one JSON object on stdout
exit codes: 0 every step passed (warnings allowed), 1 a step failed, 2 invalid configuration, 64 wrong arguments`;

/**
 * The library as the demo app configures it (same variables, same embedded directory when LDAP_AUTH_URL is
 * unset), without HTTP, tokens or throttling, on a throwaway in-memory database.
 */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [] }),
    TypeOrmModule.forRoot(databaseOptionsFromUrl('sqlite::memory:')),
    demoLdapAuthModule(),
  ],
})
class LdapCheckModule {}

interface Arguments {
  user?: string;
  json: boolean;
  help: boolean;
}

function parseArguments(argv: string[]): Arguments | string {
  const parsed: Arguments = { json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') parsed.json = true;
    else if (arg === '--help' || arg === '-h') parsed.help = true;
    else if (arg === '--user' || arg === '-u') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) return `${arg} needs a user name`;
      parsed.user = value;
    } else if (arg.startsWith('--user=')) parsed.user = arg.slice('--user='.length);
    else if (/^--?p(assword)?(=|$)/.test(arg)) {
      // Never echo the value back: it may be a password.
      return 'passwords are never taken from the arguments (they end up in shell history and process lists): it is read from stdin';
    } else return `unknown argument: ${arg.startsWith('-') ? arg.split('=')[0] : '(a value)'}`;
  }
  if (parsed.user !== undefined && !parsed.user.trim()) return '--user needs a user name';
  return parsed;
}

class Interrupted extends Error {}

/** One line from stdin: typed without echo on a terminal (raw mode), or the first line of a pipe. */
async function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) {
      text += (chunk as Buffer).toString('utf8');
      if (text.includes('\n') || text.length > MAX_PASSWORD_BYTES) break;
    }
    const line = text.split('\n')[0];
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    let escape = false;
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (escape) {
          // An escape sequence (arrow keys...): skip it up to its final letter or ~.
          if (/[A-Za-z~]/.test(ch)) escape = false;
          continue;
        }
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new Interrupted());
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        else if (ch === '\u001b') escape = true;
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function print(report: CheckReport, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatCheckReport(report));
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv);
  if (typeof args === 'string' || args.help) {
    process.stderr.write(`${typeof args === 'string' ? `${args}\n` : ''}${USAGE}\n`);
    return typeof args === 'string' ? CHECK_EXIT_CODES.usage : CHECK_EXIT_CODES.passed;
  }
  // This process runs once and exits: the app's schedule must not start in it.
  process.env.LDAP_SYNC_ENABLED = 'false';
  const started = Date.now();
  let app;
  try {
    app = await NestFactory.createApplicationContext(LdapCheckModule, {
      // stdout is the report's; the report names every configuration problem, Nest's trace would repeat them.
      logger: new EntryPointLogger({
        reportedByCaller: (error) => error instanceof LdapConfigurationError,
        stderrOnly: true,
        logLevels: ['error', 'warn'],
      }),
      abortOnError: false,
    });
  } catch (error) {
    if (error instanceof LdapConfigurationError) {
      print(configurationFailureReport(error.problems, Date.now() - started), args.json);
      return CHECK_EXIT_CODES.configuration;
    }
    throw error;
  }
  try {
    if (!process.env.LDAP_AUTH_URL?.trim()) {
      process.stderr.write('LDAP_AUTH_URL is not set: checking the embedded development directory\n');
    }
    const check = app.get(LdapCheck);
    let password: string | undefined;
    if (args.user !== undefined) {
      const bindName = check.bindNameFor(args.user);
      try {
        password = await readPassword(`Password for ${args.user}${bindName ? ` (binds as ${bindName})` : ''}: `);
      } catch (error) {
        if (error instanceof Interrupted) return INTERRUPTED;
        throw error;
      }
    }
    const report = await check.run({
      user: args.user !== undefined ? { name: args.user, password: password ?? '' } : undefined,
    });
    print(report, args.json);
    return report.exitCode;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nldap:check could not run: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(CHECK_EXIT_CODES.failed);
  },
);
