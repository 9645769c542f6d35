/**
 * The report of `npm run ldap:check` and the runner that fills it: pure data and functions, no I/O.
 * A step is `ok`, `warn` (works, but look at it), `fail`, or `skip` (not applicable, or blocked by a step
 * that did not pass). Only `fail` makes the check fail.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckStep {
  /** Stable id for scripts: `url1.dns`, `url1.tcp`, `url1.starttls`, `url1.tls`, `rootDse`, `serviceBind`, `searchBase`, `users`, `group1`…, `user.name`, `user.bind`, `user.entry`, `user.groups`, `user.login`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** One line: what was found, or what is wrong. */
  summary: string;
  /** Further lines (certificate fields, naming contexts, mapped fields...). */
  details: string[];
  /** What to do about a failure or a warning. */
  hint?: string;
  /** Environment variables to look at. */
  variables: string[];
  /** Structured details for `--json`. */
  data?: Record<string, unknown>;
}

/** What a step's work returns. */
export interface StepOutcome {
  status: CheckStatus;
  summary: string;
  details?: string[];
  hint?: string;
  variables?: string[];
  data?: Record<string, unknown>;
}

/** The user part of a check run with a user (`--user`), for scripts. */
export interface UserCheckSummary {
  name: string;
  bindName?: string;
  dn?: string;
  username?: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  uuid?: string;
  /** Listed groups (LDAP_SYNCED_GROUPS, LDAP_LOGIN_GROUP) and whether the user is in each. */
  groups?: Array<{ dn: string; exists: boolean; member: boolean; how?: 'direct' | 'nested' }>;
  /** What the login would decide: undefined when the check did not get that far. */
  mayLogIn?: boolean;
  refusal?: string;
}

export interface CheckReport {
  /** No step failed. */
  ok: boolean;
  exitCode: number;
  counts: Record<CheckStatus, number>;
  durationMs: number;
  /** The server the checks after the connection steps ran on (the first URL that passed them). */
  server?: { url: string; activeDirectory: boolean; namingContexts: string[] };
  user?: UserCheckSummary;
  steps: CheckStep[];
}

/**
 * Exit codes of `npm run ldap:check`: 0 every step passed (warnings allowed), 1 at least one step failed,
 * 2 the configuration is invalid (nothing was contacted), 64 wrong arguments.
 */
export const CHECK_EXIT_CODES = { passed: 0, failed: 1, configuration: 2, usage: 64 } as const;

export interface StepOptions {
  /** Ids of steps that must have passed (ok or warn); otherwise this one is skipped. */
  needs?: string[];
  /** Set: this step is skipped for this reason (a precondition outside the steps). */
  blockedBy?: string;
}

/** Runs steps in order, skipping those whose prerequisites did not pass, and keeps them for the report. */
export class CheckRun {
  readonly steps: CheckStep[] = [];

  /** Runs `work` unless a prerequisite did not pass; an exception from `work` is a failure. */
  async step(
    id: string,
    title: string,
    options: StepOptions,
    work: () => Promise<StepOutcome> | StepOutcome,
  ): Promise<CheckStep> {
    const blocked = options.blockedBy ?? this.unmetNeed(options.needs ?? []);
    if (blocked) return this.record(id, title, { status: 'skip', summary: blocked });
    let outcome: StepOutcome;
    try {
      outcome = await work();
    } catch (error) {
      outcome = { status: 'fail', summary: error instanceof Error ? error.message : String(error) };
    }
    return this.record(id, title, outcome);
  }

  record(id: string, title: string, outcome: StepOutcome): CheckStep {
    const step: CheckStep = {
      id,
      title,
      status: outcome.status,
      summary: outcome.summary,
      details: outcome.details ?? [],
      hint: outcome.hint,
      variables: outcome.variables ?? [],
      data: outcome.data,
    };
    this.steps.push(step);
    return step;
  }

  get(id: string): CheckStep | undefined {
    return this.steps.find((s) => s.id === id);
  }

  /** ok or warn. */
  passed(id: string): boolean {
    const status = this.get(id)?.status;
    return status === 'ok' || status === 'warn';
  }

  private unmetNeed(needs: readonly string[]): string | undefined {
    for (const id of needs) {
      const step = this.get(id);
      if (!step) return `needs "${id}", which did not run`;
      if (step.status === 'fail') return `needs "${step.title}", which failed`;
      if (step.status === 'skip') return `needs "${step.title}", which was skipped`;
    }
    return undefined;
  }

  report(durationMs: number, extras: Pick<CheckReport, 'server' | 'user'> = {}): CheckReport {
    return buildReport(this.steps, durationMs, extras);
  }
}

export function buildReport(
  steps: CheckStep[],
  durationMs: number,
  extras: Pick<CheckReport, 'server' | 'user'> = {},
): CheckReport {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const step of steps) counts[step.status]++;
  const ok = counts.fail === 0;
  return {
    ok,
    exitCode: ok ? CHECK_EXIT_CODES.passed : CHECK_EXIT_CODES.failed,
    counts,
    durationMs,
    ...extras,
    steps,
  };
}

/** The report of a configuration that could not be loaded: nothing was contacted. */
export function configurationFailureReport(problems: readonly string[], durationMs = 0): CheckReport {
  const report = buildReport(
    [
      {
        id: 'configuration',
        title: 'configuration',
        status: 'fail',
        summary: 'the environment variables are not valid; nothing was contacted',
        details: [...problems],
        hint: 'fix the variables named above',
        variables: [...new Set(problems.flatMap((p) => p.match(/\b(?:LDAP|DATABASE|JWT)_[A-Z_]+\b/g) ?? []))],
      },
    ],
    durationMs,
  );
  return { ...report, exitCode: CHECK_EXIT_CODES.configuration };
}

const TAGS: Record<CheckStatus, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' };
const INDENT = '       ';

/** The human-readable report: one line per step, details and hints indented below it. */
export function formatCheckReport(report: CheckReport): string {
  const lines: string[] = [];
  for (const step of report.steps) {
    lines.push(`${TAGS[step.status]} ${step.title}: ${step.summary}`);
    for (const detail of step.details) lines.push(`${INDENT}${detail}`);
    if (step.hint && step.status !== 'ok') lines.push(`${INDENT}→ ${step.hint}`);
  }
  const { ok, warn, fail, skip } = report.counts;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    `${ok} ok, ${plural(warn, 'warning')}, ${fail} failed, ${skip} skipped: ${report.ok ? 'passed' : 'FAILED'} (exit ${report.exitCode})`,
  );
  return `${lines.join('\n')}\n`;
}
