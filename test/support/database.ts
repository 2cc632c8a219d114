import { inject } from 'vitest';
import { createTestDatabase } from './postgres.ts';

let database: Promise<string> | undefined;

/**
 * The database the calling test file should use: undefined in the sqlite
 * project (TEST_DB unset: the server keeps its SQLite file in its DATA_DIR);
 * in the pg project, a fresh PostgreSQL database and role of its own, made on
 * the first call and the same for every later call in that file (each test
 * file gets its own module instances, so files never share one).
 */
export function testDatabaseUrl(): Promise<string | undefined> {
  if (process.env.TEST_DB !== 'pg') return Promise.resolve(undefined);
  database ??= createTestDatabase(inject('pgAdminUrl'), inject('pgNamePrefix'));
  return database;
}
