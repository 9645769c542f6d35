import { Inject, Injectable } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import { GroupSync } from '../group-mirroring/group-sync.js';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { loginNames } from '../login/user-lookup.js';
import { CheckRun, type CheckReport } from './check-report.js';
import type { CheckContext } from './check-steps/check-context.js';
import { checkConnections } from './check-steps/connection-steps.js';
import { checkDirectory } from './check-steps/directory-steps.js';
import { checkListedGroups } from './check-steps/group-steps.js';
import { checkUser } from './check-steps/user-steps.js';

/** Entries counted at most by the user-count step ("at least N" beyond). */
export const DEFAULT_MAX_COUNTED_ENTRIES = 100_000;

export interface CheckRunOptions {
  /** Also check one user's login: bind as them and read what a login reads. Nothing is written. */
  user?: { name: string; password: string };
  /** Stop counting user entries here (default 100,000). */
  maxCountedEntries?: number;
}

/**
 * `npm run ldap:check`: the step-by-step diagnosis of the LDAP configuration (connection per URL with DNS,
 * TCP, StartTLS and the certificate; the root DSE; the service account; the search base; the user count; the
 * listed groups) and, given a user and password, what a login of that user would decide, without writing
 * anything. No credential is ever sent on a connection whose certificate did not verify.
 */
@Injectable()
export class LdapCheck {
  private readonly context: CheckContext;

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
    directory: LdapDirectory,
    groupSync: GroupSync,
  ) {
    this.context = { options, formatter, directory, groupSync };
  }

  async run(runOptions: CheckRunOptions = {}): Promise<CheckReport> {
    const started = Date.now();
    const run = new CheckRun();
    const connection = await checkConnections(this.context, run);
    let server: CheckReport['server'];
    try {
      server = await checkDirectory(
        this.context,
        run,
        connection,
        runOptions.maxCountedEntries ?? DEFAULT_MAX_COUNTED_ENTRIES,
      );
      await checkListedGroups(this.context, run, connection);
    } finally {
      await connection?.close();
    }
    const user = runOptions.user ? await checkUser(this.context, run, !!connection, runOptions.user) : undefined;
    return run.report(Date.now() - started, { server, user });
  }

  /**
   * Only the user's steps (`user.*`): what a login of this user would decide and why, nothing written. Without
   * a password the service account finds the entry and reads its groups, and the bind is skipped. For the admin
   * page's "test a user": the connection steps are left to `run()`, the pool's connections verify TLS as logins do.
   */
  async runUser(user: { name: string; password?: string }): Promise<CheckReport> {
    const started = Date.now();
    const run = new CheckRun();
    const summary = await checkUser(this.context, run, true, user);
    return run.report(Date.now() - started, { user: summary });
  }

  /**
   * The name a login of `name` binds with (bind login mode), for a password prompt; undefined in search mode
   * (the entry's DN, found later) or when the formatter refuses the name (the check reports why).
   */
  bindNameFor(name: string): string | undefined {
    try {
      const names = loginNames(this.formatter, this.options.loginMode, name.trim());
      return names.mode === 'bind' ? names.bindName : undefined;
    } catch {
      return undefined;
    }
  }
}

/** @deprecated renamed to LdapCheck, as the `ldap:check` command: the same class, so `app.get` works with either. */
export const LdapDiagnostics = LdapCheck;
/** @deprecated renamed to LdapCheck. */
export type LdapDiagnostics = LdapCheck;
/** @deprecated renamed to CheckRunOptions. */
export type DiagnosticsRunOptions = CheckRunOptions;
