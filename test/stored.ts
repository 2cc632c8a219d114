import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createTestDatabase } from './support/postgres.ts';

/** Which database this test run uses: `TEST_DB=pg` (the pg project) or SQLite. */
export const onPostgres = process.env.TEST_DB === 'pg';

const URL_FILE = '.test-database-url';
const making_ = new Map<string, Promise<string>>();

/**
 * The database of a server on `dataDir`: none on SQLite (the file in dataDir);
 * on PostgreSQL a fresh database of its own, made once and remembered in the
 * folder, so that a server restarted on the same folder finds its data again.
 */
export async function databaseUrlFor(dataDir: string): Promise<string | undefined> {
  if (!onPostgres) return undefined;
  const file = path.join(dataDir, URL_FILE);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  // Servers started together on one new folder share one database.
  let making = making_.get(dataDir);
  if (!making) {
    making = createTestDatabase(inject('pgAdminUrl'), inject('pgNamePrefix')).then((url) => {
      fs.writeFileSync(file, url);
      return url;
    });
    making_.set(dataDir, making);
  }
  return making;
}



/** Environment for a server on `dataDir`: DATABASE_URL on PostgreSQL, nothing on SQLite. */
export async function databaseEnv(dataDir: string): Promise<Record<string, string>> {
  const url = await databaseUrlFor(dataDir);
  return url ? { DATABASE_URL: url } : {};
}

export interface Stored {
  /** Rows of a query with `?` placeholders; counts come back as numbers on both databases. */
  all<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T | undefined>;
  /** `SELECT count(*) AS n ...` as a number. */
  count(query: string, ...params: unknown[]): Promise<number>;
}

// count(*) is int8: a number here, as in the service (src/db/dialects/postgres.ts).
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

/**
 * Reads what a server on `dataDir` stored, as an outside check would, with
 * its own connection: what is in the database, not what the API says.
 */
export async function stored<R>(dataDir: string, read: (db: Stored) => Promise<R>): Promise<R> {
  const url = await databaseUrlFor(dataDir);
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const all = async <T,>(query: string, ...params: unknown[]) => {
        let i = 0;
        const text = query.replace(/\?/g, () => `$${++i}`);
        return (await client.query(text, params)).rows as T[];
      };
      return await read(helpers(all));
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(dataDir, 'evidence.db'), { readonly: true, fileMustExist: true });
  try {
    return await read(helpers(async <T,>(query: string, ...params: unknown[]) => db.prepare(query).all(...params) as T[]));
  } finally {
    db.close();
  }
}

function helpers(all: <T>(query: string, ...params: unknown[]) => Promise<T[]>): Stored {
  return {
    all,
    get: async <T,>(query: string, ...params: unknown[]) => (await all<T>(query, ...params))[0],
    count: async (query: string, ...params: unknown[]) => Number((await all<{ n: number }>(query, ...params))[0]!.n),
  };
}

/** Rows per table that a submission writes. */
export async function submissionRows(dataDir: string): Promise<{ submissions: number; files: number }> {
  return stored(dataDir, async (db) => ({
    submissions: await db.count('SELECT count(*) AS n FROM evidence_submissions'),
    files: await db.count('SELECT count(*) AS n FROM evidence_files'),
  }));
}

/** SQLite only: the file's own consistency check ("ok"); PostgreSQL keeps its own. */
export function sqliteIntegrity(dataDir: string): string {
  const db = new Database(path.join(dataDir, 'evidence.db'), { readonly: true, fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** Runs a statement against a server's database from outside, as an operator's mistake would (tests of failures). */
export async function storedExec(dataDir: string, statement: string): Promise<void> {
  const url = await databaseUrlFor(dataDir);
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new Database(path.join(dataDir, 'evidence.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.exec(statement);
  } finally {
    db.close();
  }
}
