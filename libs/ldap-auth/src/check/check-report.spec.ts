import { describe, expect, it } from '@jest/globals';
import {
  buildReport,
  CHECK_EXIT_CODES,
  CheckRun,
  type CheckStep,
  configurationFailureReport,
  formatCheckReport,
} from './check-report.js';

describe('CheckRun', () => {
  it('runs a step whose prerequisites passed (ok or warn)', async () => {
    const run = new CheckRun();
    await run.step('a', 'A', {}, () => ({ status: 'warn', summary: 'meh' }));
    const b = await run.step('b', 'B', { needs: ['a'] }, () => ({ status: 'ok', summary: 'fine' }));
    expect(b).toMatchObject({ status: 'ok', summary: 'fine', details: [], variables: [] });
  });

  it('skips a step whose prerequisite failed or was skipped, naming it, without running it', async () => {
    const run = new CheckRun();
    let ran = false;
    await run.step('a', 'service account', {}, () => ({ status: 'fail', summary: 'refused' }));
    const b = await run.step('b', 'search base', { needs: ['a'] }, () => {
      ran = true;
      return { status: 'ok', summary: 'x' };
    });
    const c = await run.step('c', 'users', { needs: ['b'] }, () => ({ status: 'ok', summary: 'x' }));
    expect(ran).toBe(false);
    expect(b).toMatchObject({ status: 'skip', summary: 'needs "service account", which failed' });
    expect(c).toMatchObject({ status: 'skip', summary: 'needs "search base", which was skipped' });
  });

  it('skips for an outside reason, and turns an exception into a failure', async () => {
    const run = new CheckRun();
    expect(await run.step('a', 'A', { blockedBy: 'no server' }, () => ({ status: 'ok', summary: 'x' }))).toMatchObject({
      status: 'skip',
      summary: 'no server',
    });
    expect(
      await run.step('b', 'B', {}, () => {
        throw new Error('connection lost');
      }),
    ).toMatchObject({ status: 'fail', summary: 'connection lost' });
    expect(run.passed('a')).toBe(false);
  });
});

describe('the report and its exit codes', () => {
  const step = (id: string, status: CheckStep['status']): CheckStep => ({
    id,
    title: id,
    status,
    summary: `${id} summary`,
    details: [],
    variables: [],
  });

  it('passes (0) with warnings and skips, fails (1) with any failure', () => {
    expect(buildReport([step('a', 'ok'), step('b', 'warn'), step('c', 'skip')], 5)).toMatchObject({
      ok: true,
      exitCode: CHECK_EXIT_CODES.passed,
      counts: { ok: 1, warn: 1, fail: 0, skip: 1 },
    });
    expect(buildReport([step('a', 'ok'), step('b', 'fail')], 5)).toMatchObject({ ok: false, exitCode: 1 });
  });

  it('reports an invalid configuration as exit 2, with the variables it names', () => {
    const report = configurationFailureReport([
      'LDAP_AUTH_URL must be one or more ldap:// or ldaps:// URLs (got "http://x")',
      'LDAP_SYNC_USER_USERNAME and LDAP_SYNC_USER_PASSWORD go together: set both, or neither',
    ]);
    expect(report.exitCode).toBe(CHECK_EXIT_CODES.configuration);
    expect(report.steps[0].variables).toEqual(['LDAP_AUTH_URL', 'LDAP_SYNC_USER_USERNAME', 'LDAP_SYNC_USER_PASSWORD']);
  });

  it('prints one line per step, details and hints indented, and the outcome last', () => {
    const text = formatCheckReport(
      buildReport(
        [
          { ...step('a', 'ok'), details: ['subject  CN=x'], hint: 'not shown when ok' },
          { ...step('b', 'fail'), hint: 'set LDAP_SYNC_USER_PASSWORD' },
          step('c', 'skip'),
        ],
        1,
      ),
    );
    expect(text).toBe(
      [
        '[ok]   a: a summary',
        '       subject  CN=x',
        '[FAIL] b: b summary',
        '       → set LDAP_SYNC_USER_PASSWORD',
        '[skip] c: c summary',
        '',
        '1 ok, 0 warnings, 1 failed, 1 skipped: FAILED (exit 1)',
        '',
      ].join('\n'),
    );
  });
});
