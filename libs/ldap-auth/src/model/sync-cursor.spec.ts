import { describe, expect, it } from '@jest/globals';
import { parseSyncCursor } from './sync-cursor.js';

const common = { fingerprint: 'f', groupDns: { g1: 'cn=g,dc=example,dc=test' } };

describe('parseSyncCursor', () => {
  it('reads each way of reading changes', () => {
    const cursors = [
      { method: 'content-sync', ...common, users: { cookie: 'c' }, groups: { 'dc=example,dc=test': { cookie: 'd' } } },
      { method: 'usn', ...common, usn: '12345', dsServiceName: 'CN=NTDS Settings,CN=DC1', invocationId: 'abc' },
      { method: 'timestamp', ...common, since: '20240131235958Z' },
    ];
    for (const cursor of cursors) expect(parseSyncCursor(JSON.stringify(cursor))).toEqual({ cursor });
  });

  it('refuses a cursor it did not write', () => {
    for (const text of [
      'not json',
      JSON.stringify({ method: 'usn', ...common, usn: '-1', dsServiceName: 'x', invocationId: 'y' }),
      JSON.stringify({ method: 'usn', ...common, usn: '5' }),
      JSON.stringify({ method: 'timestamp', ...common, since: 'yesterday' }),
      JSON.stringify({ method: 'dirsync', ...common }),
      JSON.stringify({ method: 'timestamp', fingerprint: 'f', since: '20240131235958Z' }),
    ]) {
      expect(parseSyncCursor(text).cursor).toBeUndefined();
    }
  });
});
