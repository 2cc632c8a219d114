import path from 'node:path';
import type { Db, OpenOptions, SharedWith } from './database.ts';
import { openPostgres } from './dialects/postgres.ts';
import { openSqlite, releaseWriteLock } from './dialects/sqlite.ts';

/**
 * `DATABASE_URL` unset: the embedded SQLite file in DATA_DIR; `postgres://…`:
 * PostgreSQL. Either way the migrations have run when this resolves.
 */
export async function openDatabase(databaseUrl: string | null, dataDir: string, options: OpenOptions = {}): Promise<Db> {
  if (databaseUrl) return openPostgres(databaseUrl, options);
  return openSqlite(path.join(dataDir, 'evidence.db'), options);
}

/** Frees what thread `threadId` of this process held of `share` when it ended (SQLite's write lock). */
export function releaseThreadLocks(share: SharedWith, threadId: number): void {
  if (share.writeLock) releaseWriteLock(share.writeLock, threadId + 1);
}
