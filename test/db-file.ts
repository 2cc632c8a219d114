import path from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens a server's SQLite file read-only, as an outside check would: what was
 * stored, not what the API says. WAL lets it read beside a running server.
 */
export function readDb<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, 'evidence.db'), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Rows per table that a submission writes. */
export function submissionRows(dataDir: string): { submissions: number; files: number } {
  return readDb(dataDir, (db) => ({
    submissions: (db.prepare('SELECT count(*) AS n FROM evidence_submissions').get() as { n: number }).n,
    files: (db.prepare('SELECT count(*) AS n FROM evidence_files').get() as { n: number }).n,
  }));
}
