import { describe, expect, it } from '@jest/globals';
import type { DataSource, QueryRunner } from 'typeorm';
import { PreparedRead } from './prepared-read.js';

/** A PostgreSQL data source whose client fails named statements with `code` (once per call while set). */
function fakePostgres(code?: string) {
  const sent: string[] = [];
  const client = {
    query: (config: { name: string }) => {
      sent.push(`named ${config.name}`);
      return code
        ? Promise.reject(Object.assign(new Error('statement failed'), { code }))
        : Promise.resolve({ rows: [1] });
    },
  };
  const runner = {
    connect: () => Promise.resolve(client),
    query: () => {
      sent.push('unnamed');
      return Promise.resolve([2]);
    },
  } as unknown as QueryRunner;
  const dataSource = { options: { type: 'postgres' }, logger: { logQuery: () => undefined } } as unknown as DataSource;
  return { sent, runner, dataSource };
}

describe('PreparedRead on PostgreSQL', () => {
  it('sends the read as a named statement', async () => {
    const db = fakePostgres();
    const read = new PreparedRead(db.dataSource);
    expect(await read.query(db.runner, 'r', 'SELECT 1', [])).toEqual([1]);
    expect(db.sent).toEqual(['named r']);
  });

  it.each([
    ['26000', 'a pooler lost it'],
    ['0A000', 'a migration changed its result'],
  ])('answers unnamed from then on when a named statement fails with %s (%s)', async (code) => {
    const db = fakePostgres(code);
    const read = new PreparedRead(db.dataSource);
    expect(await read.query(db.runner, 'r', 'SELECT 1', [])).toEqual([2]);
    expect(await read.query(db.runner, 'r', 'SELECT 1', [])).toEqual([2]);
    expect(db.sent).toEqual(['named r', 'unnamed', 'unnamed']);
  });

  it('passes other errors on', async () => {
    const db = fakePostgres('23505');
    await expect(new PreparedRead(db.dataSource).query(db.runner, 'r', 'SELECT 1', [])).rejects.toThrow(
      'statement failed',
    );
  });
});
