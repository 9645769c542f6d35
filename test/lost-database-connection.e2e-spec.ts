/**
 * A database connection killed under load (an administrator's pg_terminate_backend / KILL CONNECTION, a
 * failover): logins and /auth/me answer 200 or 503, never 500, and each failure is one log line.
 */
import { describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { logsOf, postLogin } from './support/app.js';
import type { DatabaseKind, TestDatabase } from './support/databases.js';
import { createUser, deleteUser } from './support/directory-admin.js';
import { openLdapEnv, serviceAccountEnv } from './support/env.js';
import { testServers } from './support/servers.js';
import { testApps } from './support/test-app.js';

const { slapd } = testServers();
const ROUNDS = 60;

/** Ends every connection the app holds to its database; returns how many it ended. */
async function killAppConnections(db: TestDatabase): Promise<number> {
  if (db.kind === 'postgres') {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ killed: boolean }>(
        'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return rows.filter((r) => r.killed).length;
    } finally {
      await admin.end();
    }
  }
  const url = new URL(db.url);
  url.protocol = 'mysql:';
  const admin = await mysql.createConnection(url.toString());
  try {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(
      'SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()',
    );
    let killed = 0;
    for (const { ID } of rows) {
      // A connection may end by itself between the list and the KILL.
      await admin.query(`KILL CONNECTION ${Number(ID)}`).then(
        () => killed++,
        () => undefined,
      );
    }
    return killed;
  } finally {
    await admin.end();
  }
}

describe.each<DatabaseKind>(['postgres', 'mariadb'])('a lost database connection (%s)', (kind) => {
  const apps = testApps();

  it('logins and /auth/me answer 200 or 503 (never 500), each failure logged in one line', async () => {
    const who = { username: `lost${kind}`, password: 'Lost-pass1', givenName: 'L', sn: 'C', mail: `l@${kind}.test` };
    await createUser(slapd, who);
    try {
      const app: INestApplication = await apps.start(kind, { ...openLdapEnv(slapd), ...serviceAccountEnv('openldap') });
      const db = apps.databaseOf(app);
      const token = (await postLogin(app, who.username, who.password).expect(200)).body.accessToken as string;
      const me = () => request(app.getHttpServer()).get('/auth/me').set('Authorization', `Bearer ${token}`);

      const statuses: number[] = [];
      let killed = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const calls = [
          postLogin(app, who.username, who.password),
          me(),
          postLogin(app, who.username, who.password),
          me(),
        ];
        const [, ...answers] = await Promise.all([
          killAppConnections(db).then((n) => (killed += n)),
          ...calls.map(async (call) => (await call).status),
        ]);
        statuses.push(...answers);
      }

      expect(killed).toBeGreaterThan(0);
      const counts = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]));
      expect(Object.keys(counts).filter((s) => s !== '200' && s !== '503')).toEqual([]);
      // Once the connections are back, logins and /auth/me work.
      await postLogin(app, who.username, who.password).expect(200);
      await me().expect(200);

      const logs = logsOf(app);
      expect(logs.filter((line) => line.startsWith('    at '))).toEqual([]);
      expect(logs.filter((line) => line.includes('[ExceptionsHandler]'))).toEqual([]);
      // Every 503 said what happened, in one line.
      const lost = logs.filter((line) => /database connection lost during/.test(line));
      expect(lost.length).toBe(counts[503] ?? 0);
      for (const line of lost) expect(line).toMatch(/answered 503$/);
    } finally {
      await deleteUser(slapd, who.username);
    }
  });
});
