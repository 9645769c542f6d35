import { describe, expect, it } from '@jest/globals';
import { databaseOptionsFromUrl } from './database-options.js';

describe('databaseOptionsFromUrl', () => {
  it.each([
    ['mysql://app:secret@db.example:3306/app', 'mysql', 'mysql://app:secret@db.example:3306/app'],
    ['mariadb://app:secret@db.example/app', 'mariadb', 'mysql://app:secret@db.example/app'],
  ])('%s: the named server, utf8mb4 compared byte for byte, UTC dates', (url, type, driverUrl) => {
    expect(databaseOptionsFromUrl(url)).toMatchObject({
      type,
      url: driverUrl,
      charset: 'utf8mb4_bin',
      timezone: 'Z',
      migrationsRun: true,
      synchronize: false,
    });
  });

  it.each([
    ['mysql://app:secret@db.example:3306/', 'needs a host and a database name'],
    ['mysql://app:secret@db.example', 'needs a host and a database name'],
    ['mariadb://app:secret@db.example/app/extra', 'needs a host and a database name'],
    ['mysql://app:secret@[bad/app', 'is not a valid URL'],
  ])('refuses %s, naming DATABASE_URL and never the password', (url, problem) => {
    let message = '';
    try {
      databaseOptionsFromUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain(problem);
    expect(message).not.toContain('secret');
  });

  it('lists every supported form when the scheme is unknown', () => {
    expect(() => databaseOptionsFromUrl('oracle://app:secret@db/app')).toThrow(
      'DATABASE_URL: "oracle://app:***@db/app" is not supported; use sqlite:<path>, postgres://…, mysql://… or mariadb://…',
    );
  });

  it('keeps PostgreSQL and SQLite as they were', () => {
    expect(databaseOptionsFromUrl('postgres://u@h/db')).toMatchObject({ type: 'postgres', url: 'postgres://u@h/db' });
    expect(databaseOptionsFromUrl('sqlite::memory:')).toMatchObject({ type: 'better-sqlite3', database: ':memory:' });
  });
});
