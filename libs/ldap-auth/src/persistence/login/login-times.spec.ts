import { describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { SqlDialect } from '../sql-dialect.js';
import { LoginTimes } from './login-times.js';

/** A data source that records its statements and fails while `failing` is set. */
function fakeDatabase(type: 'postgres' | 'mysql') {
  const statements: Array<{ sql: string; params: unknown[] }> = [];
  const state = { failing: false };
  const dataSource = {
    options: { type },
    getMetadata: () => ({ findColumnWithPropertyName: () => ({}) }),
    driver: { preparePersistentValue: (value: unknown) => value },
    query: (sql: string, params: unknown[]) => {
      if (state.failing) return Promise.reject(new Error('connection refused'));
      statements.push({ sql, params });
      return Promise.resolve([]);
    },
  } as unknown as DataSource;
  const lines: string[] = [];
  const logger = {
    error: (m: string) => lines.push(`error ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    log: (m: string) => lines.push(`log ${m}`),
  };
  return { dataSource, dialect: SqlDialect.of(dataSource), statements, state, lines, logger };
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));

describe('LoginTimes', () => {
  it('writes the latest time per user, all users in one statement', async () => {
    const db = fakeDatabase('postgres');
    const times = new LoginTimes(db.dataSource, db.dialect, db.logger, 60_000);
    await times.record(2, at(5));
    await times.record(1, at(3));
    await times.record(2, at(4));
    expect(db.statements).toEqual([]);
    await times.flush();
    expect(db.statements).toHaveLength(1);
    expect(db.statements[0].params).toEqual([
      [1, 2],
      [at(3), at(5)],
    ]);
    await times.flush();
    expect(db.statements).toHaveLength(1);
  });

  it('writes by itself after the interval', async () => {
    const db = fakeDatabase('mysql');
    const times = new LoginTimes(db.dataSource, db.dialect, db.logger, 10);
    await times.record(7, at(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(db.statements.map((s) => s.params)).toEqual([[7, at(1)]]);
  });

  it('keeps the times of a failed write for the next one, and logs the failure and the recovery once', async () => {
    const db = fakeDatabase('postgres');
    const times = new LoginTimes(db.dataSource, db.dialect, db.logger, 60_000);
    db.state.failing = true;
    await times.record(1, at(1));
    await times.flush();
    await times.record(1, at(2));
    await times.record(3, at(1));
    await times.flush();
    expect(db.lines).toEqual([expect.stringMatching(/^warn Could not write the login times of 1 user\(s\).*refused/)]);
    db.state.failing = false;
    await times.flush();
    expect(db.statements.map((s) => s.params)).toEqual([
      [
        [1, 3],
        [at(2), at(1)],
      ],
    ]);
    expect(db.lines[1]).toMatch(/^log Login times are written again/);
  });

  it('on close writes what is pending, and from then on each time at once', async () => {
    const db = fakeDatabase('postgres');
    const times = new LoginTimes(db.dataSource, db.dialect, db.logger, 60_000);
    await times.record(1, at(1));
    await times.close();
    expect(db.statements).toHaveLength(1);
    await times.record(2, at(2));
    expect(db.statements.map((s) => s.params)).toEqual([
      [[1], [at(1)]],
      [[2], [at(2)]],
    ]);
  });
});
