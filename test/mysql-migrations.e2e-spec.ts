import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { databaseOptionsFromUrl } from '@nest-ldap-auth/ldap-auth';
import { appDataSource, createTestApp, postLogin } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { directoryEnv, groupDnOf } from './support/env.js';
import { fixtureUser } from './support/fixtures.js';
import { migrateUntilStatement, mysqlSchemaOf } from './support/mysql-schema.js';

/** The same database under the other scheme: users write `mysql://` for a MariaDB server all the time. */
const asMysqlUrl = (url: string) => url.replace(/^mariadb:/, 'mysql:');

describe('MySQL migrations on MariaDB', () => {
  const databases: TestDatabase[] = [];
  /** The schema a clean `mariadb://` start builds: what every other way of getting there must end with. */
  let reference: string[];

  const freshDatabase = async () => {
    const db = await createTestDatabase('mariadb');
    databases.push(db);
    return db;
  };

  beforeAll(async () => {
    const db = await freshDatabase();
    const dataSource = await new DataSource(databaseOptionsFromUrl(db.url)).initialize();
    await dataSource.destroy();
    reference = await mysqlSchemaOf(db.url);
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('builds the whole schema on a clean mariadb:// start (the reference)', () => {
    expect(reference.filter((line) => line.startsWith('migration '))).toEqual([
      'migration InitialSchema1764028800000',
      'migration WiderDnColumns1795996800000',
      'migration SyncState1796083200000',
      'migration UsernameLookupIndex1796256000000',
      'migration UsernameKey1796342400000',
      'migration SyncRunChanges1796428800000',
      'migration DeltaSync1796515200000',
      'migration LdapDnLookupIndex1796601600000',
    ]);
    const groups = reference.find((line) => line.startsWith('CREATE TABLE `groups`'));
    expect(groups).toMatch(/`ldap_dn_key` binary\(32\) GENERATED ALWAYS AS \(unhex\(sha2\(`ldap_dn`,256\)\)\) STORED/);
    expect(groups).toContain('UNIQUE KEY `UQ_groups_organisation_ldap_dn` (`organisation_id`,`ldap_dn_key`)');
  });

  describe('the demo app with a mysql:// DATABASE_URL', () => {
    let app: INestApplication;
    let url: string;

    beforeAll(async () => {
      url = asMysqlUrl((await freshDatabase()).url);
      app = await createTestApp({
        ...directoryEnv('openldap'),
        // Groups too: their rows carry the generated key column and its unique index.
        LDAP_AUTH_SYNC_USER_RELATIONS: 'sync_user_groups',
        LDAP_DEFAULT_FLAGSMITH_ORGANISATION_ID: '1',
        LDAP_SYNCED_GROUPS: ['admins', 'developers'].map((cn) => groupDnOf('openldap', cn)).join(':'),
        DATABASE_URL: url,
      });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('completes its migrations with the same schema as mariadb://', async () => {
      expect(await mysqlSchemaOf(url)).toEqual(reference);
    });

    it('logs a user in and stores the user and the groups', async () => {
      const alice = fixtureUser('alice');
      await postLogin(app, alice.username, alice.password).expect(200);
      const groups = await appDataSource(app).query<Array<{ name: string }>>(
        'SELECT g.name FROM `groups` g JOIN user_groups ug ON ug.group_id = g.id JOIN users u ON u.id = ug.user_id ' +
          "WHERE u.username = 'alice' ORDER BY g.name",
      );
      expect(groups.map((g) => g.name)).toEqual(['admins', 'developers']);
    });
  });

  describe('a start that died half way through the migrations', () => {
    // Killed after each schema statement in turn, under either scheme; the next start must finish the job.
    it.each(['mariadb', 'mysql'])(
      'is completed by the next start, whichever statement it died after (%s://)',
      async (scheme) => {
        let killed = 0;
        for (let after = 1; ; after++) {
          const db = await freshDatabase();
          const url = scheme === 'mysql' ? asMysqlUrl(db.url) : db.url;
          if (await migrateUntilStatement(url, after)) break;
          killed += 1;
          const dataSource = await new DataSource(databaseOptionsFromUrl(url)).initialize();
          await dataSource.destroy();
          expect({ after, schema: await mysqlSchemaOf(url) }).toEqual({ after, schema: reference });
          await db.drop();
        }
        // Every schema statement of the four migrations has been a point of death once.
        expect(killed).toBeGreaterThan(10);
      },
      300_000,
    );

    it('is completed when its first table was made and nothing recorded', async () => {
      const db = await freshDatabase();
      const url = asMysqlUrl(db.url);
      const dataSource = await new DataSource({ ...databaseOptionsFromUrl(url), migrationsRun: false }).initialize();
      await dataSource.query(
        'CREATE TABLE `organisations` (`id` int NOT NULL AUTO_INCREMENT, ' +
          '`name` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB',
      );
      await dataSource.destroy();
      const app = await createTestApp({ ...directoryEnv('openldap'), DATABASE_URL: url });
      try {
        expect(await mysqlSchemaOf(url)).toEqual(reference);
        const bob = fixtureUser('bob');
        await postLogin(app, bob.username, bob.password).expect(200);
      } finally {
        await app.close();
      }
    });
  });
});
