import { beforeEach, describe, expect, it } from '@jest/globals';
import { OutageLog } from './outage-log.js';

describe('OutageLog', () => {
  let lines: string[];
  let clock: number;
  let log: OutageLog;
  const logger = {
    error: (m: string) => lines.push(`ERROR ${m}`),
    warn: (m: string) => lines.push(`WARN ${m}`),
    log: (m: string) => lines.push(`LOG ${m}`),
  };

  beforeEach(() => {
    lines = [];
    clock = 0;
    log = new OutageLog(logger, 'logins failed: directory unavailable', { now: () => clock });
  });

  it('logs the first failure, then at most one summary per 10 s, then one line when it works again', () => {
    for (let i = 0; i < 1000; i++) {
      log.failed('no directory server could be reached\nread ECONNRESET', `Login failed for "u${i}": down`);
      clock += 25; // 40 a second for 25 s
    }
    expect(lines).toEqual([
      'ERROR Login failed for "u0": down',
      'WARN 400 logins failed: directory unavailable (no directory server could be reached | read ECONNRESET) in the last 10 s',
      'WARN 400 logins failed: directory unavailable (no directory server could be reached | read ECONNRESET) in the last 10 s',
    ]);
    log.succeeded('The directory is reachable again: logins succeed');
    expect(lines[3]).toBe(
      'LOG The directory is reachable again: logins succeed after 25 s (199 more logins failed: directory unavailable since the last line)',
    );
    expect(lines).toHaveLength(4);
  });

  it('says nothing about successes outside an outage, and starts afresh after one', () => {
    log.succeeded('back');
    log.failed('down', 'first');
    log.succeeded('back');
    log.succeeded('back');
    log.failed('down', 'first again');
    expect(lines).toEqual(['ERROR first', 'LOG back after 0 s', 'ERROR first again']);
  });

  it('writes the first failure as a warning when asked to', () => {
    new OutageLog(logger, 'connections failed', { firstLevel: 'warn' }).failed('x', 'Cannot use ldap://a: x');
    expect(lines).toEqual(['WARN Cannot use ldap://a: x']);
  });
});
