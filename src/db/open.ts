import path from 'node:path';
import type { Db, OpenOptions } from './database.ts';
import { openPostgres } from './dialects/postgres.ts';
import { openSqlite } from './dialects/sqlite.ts';

/**
 * `DATABASE_URL` unset: the embedded SQLite file in DATA_DIR; `postgres://…`:
 * PostgreSQL. Either way the migrations have run when this resolves.
 */
export async function openDatabase(databaseUrl: string | null, dataDir: string, options: OpenOptions = {}): Promise<Db> {
  if (databaseUrl) return openPostgres(databaseUrl, options);
  return openSqlite(path.join(dataDir, 'evidence.db'), options);
}
