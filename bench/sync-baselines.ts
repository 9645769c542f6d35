/**
 * The floors a full sync is judged against, measured on the same machine in the same run: how fast the
 * directory can be read (ldapsearch; ldapts paged and flat, with peak RSS in child processes) and how fast
 * the same rows can be written to and read from the app's database (PostgreSQL COPY, INSERT variants for
 * context, SQLite in one transaction).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  GROUP_ATTRIBUTES,
  GROUP_FILTER,
  PAGE_SIZE,
  USER_ATTRIBUTES,
  USER_FILTER,
  type Dataset,
} from './sync-dataset.js';
import { openSqlite } from './sqlite.js';
import type { BenchDirectory } from './sync-directory.js';
import type { ReadChildConfig, ReadChildResult, ReadMode } from './sync-read-child.js';
import {
  GROUP_COLUMNS,
  MEMBERSHIP_COLUMNS,
  ORGANISATION_ID,
  USER_COLUMNS,
  groupRows,
  groupsCopyText,
  membershipPairs,
  membershipsCopyText,
  rowCounts,
  userRow,
  usersCopyText,
} from './sync-rows.js';

// ---- LDAP ----

export interface DumpResult {
  seconds: number;
  entries: number;
  /** member values (groups). */
  values: number;
}

/**
 * `ldapsearch -x -H … -D <service> -w … -b <base> -E pr=1000/noprompt <filter> <attributes>`, its LDIF read
 * from a pipe and only counted (entries and member values), never parsed.
 */
export async function ldapsearchDump(directory: BenchDirectory, what: 'users' | 'groups'): Promise<DumpResult> {
  const [base, filter, attributes] =
    what === 'users'
      ? [directory.peopleDn, USER_FILTER, USER_ATTRIBUTES]
      : [directory.groupsDn, GROUP_FILTER, GROUP_ATTRIBUTES];
  const args = ['-x', '-H', directory.url, '-D', directory.serviceDn, '-w', directory.servicePassword];
  args.push('-b', base, '-E', `pr=${PAGE_SIZE}/noprompt`, filter, ...attributes);
  const t = performance.now();
  const child = spawn('ldapsearch', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const [entries, values] = await countLinePrefixes(child.stdout, ['dn: ', 'member: ']);
  const code = await exited;
  const seconds = (performance.now() - t) / 1000;
  if (code !== 0) throw new Error(`ldapsearch exited with ${code}: ${stderr.trim()}`);
  return { seconds, entries, values };
}

/** Counts lines starting with each prefix, on the raw bytes (LDIF continuation lines start with a space). */
async function countLinePrefixes(stream: NodeJS.ReadableStream, prefixes: string[]): Promise<number[]> {
  const patterns = prefixes.map((p) => Buffer.from(`\n${p}`));
  const keep = Math.max(...patterns.map((p) => p.length)) - 1;
  const counts = prefixes.map(() => 0);
  let carry = Buffer.from('\n');
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = Buffer.concat([carry, chunk]);
    patterns.forEach((pattern, k) => {
      // Matches lying wholly inside the carried tail were counted with the previous chunk.
      for (let at = buf.indexOf(pattern, 0); at !== -1; at = buf.indexOf(pattern, at + 1)) {
        if (at + pattern.length > carry.length) counts[k]++;
      }
    });
    carry = buf.subarray(Math.max(0, buf.length - keep));
  }
  return counts;
}

const READ_CHILD = fileURLToPath(new URL('./sync-read-child.js', import.meta.url));

/** One ldapts read in its own process (see sync-read-child.ts), so its peak RSS is its own. */
export async function readInChild(
  directory: BenchDirectory,
  mode: ReadMode,
  groupDns?: string[],
): Promise<ReadChildResult> {
  const config: ReadChildConfig = {
    mode,
    url: directory.url,
    bindDn: directory.serviceDn,
    password: directory.servicePassword,
    peopleDn: directory.peopleDn,
    groupsDn: directory.groupsDn,
    groupDns,
  };
  const { stdout, stderr, code } = await runNode([READ_CHILD, JSON.stringify(config)]);
  const line = stdout.trim().split('\n').at(-1);
  if (code !== 0 || !line) throw new Error(`ldapts read (${mode}) failed with ${code}: ${stderr.trim()}`);
  return JSON.parse(line) as ReadChildResult;
}

/** `node …args`, its output collected; killed (SIGTERM) after `timeoutMs` if given. */
export function runNode(
  args: string[],
  timeoutMs?: number,
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-8000)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ stdout, stderr, code }));
  });
}

// ---- PostgreSQL ----

/**
 * The app's tables as the library's migrations create them on PostgreSQL (spec.md), without keys. The sync's
 * tables only: users, organisations, groups, user_groups.
 */
const PG_TABLES = `
CREATE TABLE organisations (id serial NOT NULL, name varchar(255) NOT NULL);
CREATE TABLE users (
  id serial NOT NULL,
  username varchar(255) NOT NULL,
  email varchar(255),
  first_name varchar(255),
  last_name varchar(255),
  is_active boolean NOT NULL DEFAULT true,
  ldap_dn varchar(2048),
  ldap_uuid varchar(64),
  last_login_at timestamp,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);
CREATE TABLE groups (id serial NOT NULL, organisation_id integer NOT NULL, name varchar(255) NOT NULL, ldap_dn varchar(2048));
CREATE TABLE user_groups (user_id integer NOT NULL, group_id integer NOT NULL);
`;

/** Their keys and indexes, as the migrations declare them. */
const PG_KEYS = `
ALTER TABLE organisations ADD PRIMARY KEY (id);
ALTER TABLE users ADD PRIMARY KEY (id), ADD UNIQUE (username), ADD UNIQUE (ldap_uuid);
ALTER TABLE groups ADD PRIMARY KEY (id),
  ADD FOREIGN KEY (organisation_id) REFERENCES organisations (id) ON DELETE CASCADE;
CREATE UNIQUE INDEX "UQ_groups_organisation_ldap_dn" ON groups (organisation_id, ldap_dn);
ALTER TABLE user_groups ADD PRIMARY KEY (user_id, group_id),
  ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
  ADD FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE ON UPDATE CASCADE;
CREATE INDEX ON user_groups (user_id);
CREATE INDEX ON user_groups (group_id);
`;

/** Explicit ids leave the serial sequences behind: move them, as any bulk load must. */
const PG_SEQUENCES = ['organisations', 'users', 'groups']
  .map((t) => `SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM ${t}));`)
  .join('\n');

const PG_DROP = 'DROP TABLE IF EXISTS user_groups, groups, users, organisations CASCADE';

export interface WriteResult {
  seconds: number;
  rows: number;
  /** Parts of `seconds`, by name. */
  phases?: Record<string, number>;
  /** For sampled variants: the time all rows would take at the sampled rate. */
  extrapolatedSeconds?: number;
  sampledRows?: number;
}

/** The COPY payloads, built before any clock starts (they are the same rows for every run). */
export interface CopyPayload {
  users: Buffer[];
  groups: Buffer[];
  memberships: Buffer[];
}

export function copyPayload(data: Dataset): CopyPayload {
  return { users: usersCopyText(data), groups: groupsCopyText(data), memberships: membershipsCopyText(data) };
}

/** One connection to a scratch database, for the write and read floors; tables are rebuilt before each run. */
export class PostgresFloors {
  private constructor(
    private readonly client: pg.Client,
    private readonly data: Dataset,
  ) {}

  static async connect(url: string, data: Dataset): Promise<PostgresFloors> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return new PostgresFloors(client, data);
  }

  async close(): Promise<void> {
    await this.client.end();
  }

  /** The floor: create the tables, COPY every row, then add the keys and indexes; one transaction. */
  async copyThenKeys(payload: CopyPayload): Promise<WriteResult> {
    await this.client.query(PG_DROP);
    const t0 = performance.now();
    await this.client.query('BEGIN');
    await this.client.query(PG_TABLES);
    await this.client.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [ORGANISATION_ID, 'Default']);
    await this.copyAll(payload);
    const t1 = performance.now();
    await this.client.query(PG_KEYS);
    await this.client.query(PG_SEQUENCES);
    await this.client.query('COMMIT');
    const t2 = performance.now();
    return {
      seconds: (t2 - t0) / 1000,
      rows: rowCounts(this.data).total,
      phases: { copy: (t1 - t0) / 1000, keys: (t2 - t1) / 1000 },
    };
  }

  /** COPY into tables whose keys already exist (the app's tables as they are). */
  async copyIntoKeyedTables(payload: CopyPayload): Promise<WriteResult> {
    await this.keyedTables();
    const t0 = performance.now();
    await this.client.query('BEGIN');
    await this.copyAll(payload);
    await this.client.query(PG_SEQUENCES);
    await this.client.query('COMMIT');
    return { seconds: (performance.now() - t0) / 1000, rows: rowCounts(this.data).total };
  }

  /** Multi-row INSERTs of `batch` rows into the keyed tables, every row, one transaction. */
  async batchedInserts(batch = 1000): Promise<WriteResult> {
    await this.keyedTables();
    const data = this.data;
    const t0 = performance.now();
    await this.client.query('BEGIN');
    await this.insertBatches(
      'groups',
      GROUP_COLUMNS,
      batch,
      groupRows(data).map((g) => [g.id, g.organisationId, g.name, g.ldapDn]),
    );
    const users = (function* () {
      for (let i = 0; i < data.shape.users; i++) yield userValues(data, i);
    })();
    await this.insertBatches('users', USER_COLUMNS, batch, users);
    await this.insertBatches('user_groups', MEMBERSHIP_COLUMNS, batch, membershipPairs(data));
    await this.client.query(PG_SEQUENCES);
    await this.client.query('COMMIT');
    return { seconds: (performance.now() - t0) / 1000, rows: rowCounts(data).total };
  }

  /**
   * One INSERT statement per row, each awaited, into the keyed tables, one transaction: `sample` rows (the
   * groups, the first users, and their memberships), extrapolated to every row at the same rate.
   */
  async rowByRowInserts(sample = 10_000): Promise<WriteResult> {
    await this.keyedTables();
    const data = this.data;
    const counts = rowCounts(data);
    const userCount = Math.max(1, Math.round((sample * counts.users) / counts.total));
    const membershipBudget = Math.max(0, sample - userCount - counts.groups);
    const t0 = performance.now();
    await this.client.query('BEGIN');
    let rows = 0;
    for (const g of groupRows(data)) {
      await this.client.query(insertSql('groups', GROUP_COLUMNS, 1), [g.id, g.organisationId, g.name, g.ldapDn]);
      rows++;
    }
    for (let i = 0; i < userCount; i++) {
      await this.client.query(insertSql('users', USER_COLUMNS, 1), userValues(data, i));
      rows++;
    }
    let memberships = 0;
    for (const pair of membershipPairs(data, userCount)) {
      if (memberships++ >= membershipBudget) break;
      await this.client.query(insertSql('user_groups', MEMBERSHIP_COLUMNS, 1), pair);
      rows++;
    }
    await this.client.query('COMMIT');
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, rows, sampledRows: rows, extrapolatedSeconds: (seconds / rows) * counts.total };
  }

  /** What a sync reads of the app's state: LDAP-managed users, groups, and their memberships (after a load). */
  async readBack(): Promise<WriteResult> {
    const t0 = performance.now();
    const users = await this.client.query(
      'SELECT id, username, email, first_name, last_name, is_active, ldap_dn, ldap_uuid FROM users WHERE ldap_uuid IS NOT NULL',
    );
    const groups = await this.client.query(
      'SELECT id, name, ldap_dn FROM groups WHERE ldap_dn IS NOT NULL AND organisation_id = $1',
      [ORGANISATION_ID],
    );
    const memberships = await this.client.query(
      'SELECT ug.user_id, ug.group_id FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE g.ldap_dn IS NOT NULL',
    );
    const rows = users.rowCount! + groups.rowCount! + memberships.rowCount!;
    return { seconds: (performance.now() - t0) / 1000, rows };
  }

  private async keyedTables(): Promise<void> {
    await this.client.query(PG_DROP);
    await this.client.query(PG_TABLES);
    await this.client.query(PG_KEYS);
    await this.client.query('INSERT INTO organisations (id, name) VALUES ($1, $2)', [ORGANISATION_ID, 'Default']);
  }

  private async copyAll(payload: CopyPayload): Promise<void> {
    await this.copy('users', USER_COLUMNS, payload.users);
    await this.copy('groups', GROUP_COLUMNS, payload.groups);
    await this.copy('user_groups', MEMBERSHIP_COLUMNS, payload.memberships);
  }

  private async copy(table: string, columns: string[], chunks: Buffer[]): Promise<void> {
    const stream = this.client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    await pipeline(Readable.from(chunks), stream);
  }

  private async insertBatches(
    table: string,
    columns: string[],
    batch: number,
    rows: Iterable<unknown[]>,
  ): Promise<void> {
    let values: unknown[] = [];
    let count = 0;
    const flush = async (): Promise<void> => {
      if (count) await this.client.query(insertSql(table, columns, count), values);
      values = [];
      count = 0;
    };
    for (const row of rows) {
      values.push(...row);
      if (++count === batch) await flush();
    }
    await flush();
  }
}

function userValues(data: Dataset, i: number): unknown[] {
  const r = userRow(data, i);
  return [r.id, r.username, r.email, r.firstName, r.lastName, r.isActive, r.ldapDn, r.ldapUuid];
}

const insertSqlCache = new Map<string, string>();

function insertSql(table: string, columns: string[], rows: number): string {
  const key = `${table}:${rows}`;
  let sql = insertSqlCache.get(key);
  if (!sql) {
    const tuples = Array.from(
      { length: rows },
      (_, r) => `(${columns.map((_c, c) => `$${r * columns.length + c + 1}`).join(', ')})`,
    );
    sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`;
    insertSqlCache.set(key, sql);
  }
  return sql;
}

// ---- SQLite ----

/**
 * SQLite in a temp file, as the library opens it (WAL, foreign keys on as TypeORM sets them): tables, every
 * row through prepared INSERTs in one transaction, then the unique indexes and the membership indexes.
 */
export async function sqliteOneTransaction(data: Dataset): Promise<WriteResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ldap-sync-bench-sqlite-'));
  try {
    const db = openSqlite(path.join(dir, 'floor.sqlite'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      const t0 = performance.now();
      db.exec(`
        CREATE TABLE organisations (id integer PRIMARY KEY AUTOINCREMENT NOT NULL, name varchar(255) NOT NULL);
        CREATE TABLE users (id integer PRIMARY KEY AUTOINCREMENT NOT NULL, username varchar(255) NOT NULL,
          email varchar(255), first_name varchar(255), last_name varchar(255), is_active boolean NOT NULL DEFAULT (1),
          ldap_dn varchar(2048), ldap_uuid varchar(64), last_login_at datetime,
          created_at datetime NOT NULL DEFAULT (datetime('now')), updated_at datetime NOT NULL DEFAULT (datetime('now')));
        CREATE TABLE groups (id integer PRIMARY KEY AUTOINCREMENT NOT NULL, organisation_id integer NOT NULL
          REFERENCES organisations (id) ON DELETE CASCADE, name varchar(255) NOT NULL, ldap_dn varchar(2048));
        CREATE TABLE user_groups (user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE,
          group_id integer NOT NULL REFERENCES groups (id) ON DELETE CASCADE ON UPDATE CASCADE,
          PRIMARY KEY (user_id, group_id));
      `);
      const insertOrganisation = db.prepare('INSERT INTO organisations (id, name) VALUES (?, ?)');
      const insertUser = db.prepare(insertSqlite('users', USER_COLUMNS));
      const insertGroup = db.prepare(insertSqlite('groups', GROUP_COLUMNS));
      const insertMembership = db.prepare(insertSqlite('user_groups', MEMBERSHIP_COLUMNS));
      db.transaction(() => {
        insertOrganisation.run(ORGANISATION_ID, 'Default');
        for (const g of groupRows(data)) insertGroup.run(g.id, g.organisationId, g.name, g.ldapDn);
        for (let i = 0; i < data.shape.users; i++) {
          const r = userRow(data, i);
          insertUser.run(r.id, r.username, r.email, r.firstName, r.lastName, 1, r.ldapDn, r.ldapUuid);
        }
        for (const [u, g] of membershipPairs(data)) insertMembership.run(u, g);
      })();
      const t1 = performance.now();
      db.exec(`
        CREATE UNIQUE INDEX users_username ON users (username);
        CREATE UNIQUE INDEX users_ldap_uuid ON users (ldap_uuid);
        CREATE UNIQUE INDEX "UQ_groups_organisation_ldap_dn" ON groups (organisation_id, ldap_dn);
        CREATE INDEX user_groups_user ON user_groups (user_id);
        CREATE INDEX user_groups_group ON user_groups (group_id);
      `);
      const t2 = performance.now();
      return {
        seconds: (t2 - t0) / 1000,
        rows: rowCounts(data).total,
        phases: { inserts: (t1 - t0) / 1000, indexes: (t2 - t1) / 1000 },
      };
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function insertSqlite(table: string, columns: string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}
