import pg from 'pg';
import { describe, expect, test, vi } from 'vitest';
import { testDatabaseUrl } from './support/database.ts';

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe.runIf(process.env.TEST_DB === 'pg')('the PostgreSQL test harness', () => {
  test("a test file's database is owned by its own role, which logs in with a password and is no superuser", async () => {
    const url = (await testDatabaseUrl())!;
    expect(url).toMatch(/^postgres:\/\/t_[0-9a-f]+_[0-9a-f]+:[0-9a-f]+@127\.0\.0\.1:\d+\/t_[0-9a-f]+_[0-9a-f]+$/);
    const seen = await withClient(url, async (c) => {
      const { rows } = await c.query(
        `SELECT current_user AS "user", current_database() AS db, pg_get_userbyid(d.datdba) AS owner,
                r.rolsuper, r.rolcreatedb, r.rolcreaterole
           FROM pg_database d, pg_roles r
          WHERE d.datname = current_database() AND r.rolname = current_user`,
      );
      // What an owner may do: make and use its own tables.
      await c.query('CREATE TABLE harness_probe (id integer PRIMARY KEY)');
      await c.query('INSERT INTO harness_probe VALUES (1)');
      return rows[0];
    });
    expect(seen).toEqual({ user: seen.db, db: seen.db, owner: seen.db, rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    await withClient(url, async (c) => {
      await expect(c.query('CREATE DATABASE harness_not_allowed')).rejects.toThrow(/permission denied/);
      await expect(c.query('CREATE ROLE harness_not_allowed')).rejects.toThrow(/permission denied/);
    });
  });

  test('every call in one file gets the same database', async () => {
    expect(await testDatabaseUrl()).toBe(await testDatabaseUrl());
  });

  test("another file (a fresh module instance, as vitest gives each file) gets another database, closed to this file's role", async () => {
    const mine = (await testDatabaseUrl())!;
    vi.resetModules();
    const other = await import('./support/database.ts');
    const theirs = (await other.testDatabaseUrl())!;
    expect(theirs).not.toBe(mine);
    expect(new URL(theirs).pathname).not.toBe(new URL(mine).pathname);
    const intruder = new URL(theirs);
    intruder.username = new URL(mine).username;
    intruder.password = new URL(mine).password;
    await expect(withClient(intruder.toString(), async () => undefined)).rejects.toThrow(/permission denied for database/);
    expect(await withClient(theirs, async (c) => (await c.query('SELECT count(*)::int AS n FROM pg_tables WHERE tablename = $1', ['harness_probe'])).rows[0].n)).toBe(0);
  });
});
