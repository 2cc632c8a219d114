import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Db, OpenOptions } from '../../src/db/database.ts';
import { openPostgres } from '../../src/db/dialects/postgres.ts';
import { openSqlite } from '../../src/db/dialects/sqlite.ts';
import { processTreeCpu } from './cpu.ts';
import { createTestDatabase, findOrStartServer, stopServer, type FoundServer } from '../../test/support/postgres.ts';

export type Dialect = 'sqlite' | 'pg';

/** A scenario's database: a SQLite file in its data folder, or a PostgreSQL database of its own. */
export interface Store {
  dialect: Dialect;
  /** The service's DATA_DIR (files; on SQLite the database file too). */
  dataDir: string;
  /** What the seed and the raw baselines take: the SQLite file's path or the PostgreSQL URL. */
  target: string;
  /** DATABASE_URL for the service: the PostgreSQL URL, or empty (unset) for SQLite. */
  env: Record<string, string>;
  /** The service's own connection (migrated), for in-process measurements. */
  open(options?: OpenOptions): Promise<Db>;
  /** A copy of the data as it is now, for a raw baseline to change without touching this one. */
  copy(name: string, dataDir: string): Promise<Store>;
  /**
   * CPU seconds the database server has used so far, all its processes: on PostgreSQL when this run
   * started the server (not on TEST_DATABASE_URL's, which may serve others); null on SQLite, which runs
   * inside the process that uses it.
   */
  serverCpu(): Promise<number | null>;
}

function sqliteStore(dataDir: string): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'evidence.db');
  return {
    dialect: 'sqlite',
    dataDir,
    target: file,
    // The SQLite file even if the bench's own environment names a PostgreSQL database.
    env: { DATABASE_URL: '' },
    open: async (options) => openSqlite(file, options),
    async copy(_name, dir) {
      const copy = sqliteStore(dir);
      fs.copyFileSync(file, copy.target);
      return copy;
    },
    serverCpu: async () => null,
  };
}

let server: Promise<FoundServer> | null = null;

/**
 * The bench's throwaway cluster is sized like a server the service would run on, not like the test
 * suite's (32 MB): a million rounds with their indexes are some 400 MB, and with buffers that small
 * every page a catch-up touches goes through a system call to the OS cache. Raw baselines share it.
 */
export const BENCH_PG_SETTINGS = ['shared_buffers = 1GB', 'max_wal_size = 4GB', 'checkpoint_timeout = 15min'];
/** The databases this run created, dropped at the end when the server is not ours to throw away. */
const created: string[] = [];

/** One PostgreSQL server for the whole run: TEST_DATABASE_URL's, or a throwaway cluster started on first use. */
async function adminUrl(): Promise<string> {
  server ??= findOrStartServer(process.env, BENCH_PG_SETTINGS);
  const found = await server;
  if (found.kind === 'none') throw new Error(`--db pg: no PostgreSQL server (${found.reason})`);
  return found.adminUrl;
}

/** Stops the throwaway cluster, if this run started one. */
export async function stopPostgres(): Promise<void> {
  const found = await server?.catch(() => null);
  server = null;
  if (found?.kind === 'started') await stopServer(found.server);
  if (found?.kind === 'external') {
    const admin = new pg.Client({ connectionString: found.adminUrl });
    await admin.connect();
    try {
      // Copies first: they share their original's role.
      for (const name of created.reverse()) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      for (const name of created) await admin.query(`DROP ROLE IF EXISTS "${name}"`).catch(() => {});
    } finally {
      await admin.end();
    }
  }
}

function pgStore(url: string, dataDir: string): Store {
  fs.mkdirSync(dataDir, { recursive: true });
  return {
    dialect: 'pg',
    dataDir,
    target: url,
    env: { DATABASE_URL: url },
    open: (options) => openPostgres(url, options),
    async copy(name, dir) {
      // CREATE DATABASE … TEMPLATE: a file copy, far quicker than seeding again; nobody may be connected to the original.
      const original = new URL(url);
      const from = original.pathname.slice(1);
      const to = `${from}_${name.replace(/\W/g, '_')}`;
      const admin = new pg.Client({ connectionString: await adminUrl() });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${to}" TEMPLATE "${from}" OWNER "${decodeURIComponent(original.username)}" STRATEGY FILE_COPY`);
      } finally {
        await admin.end();
      }
      created.push(to);
      const copy = new URL(url);
      copy.pathname = `/${to}`;
      return pgStore(copy.toString(), dir);
    },
    async serverCpu() {
      const found = await server;
      return found?.kind === 'started' ? processTreeCpu(found.server.pid) : null;
    },
  };
}

export async function createStore(dialect: Dialect, dataDir: string, name: string): Promise<Store> {
  if (dialect === 'sqlite') return sqliteStore(dataDir);
  const url = await createTestDatabase(await adminUrl(), `bench_${name.replace(/\W/g, '_')}`);
  created.push(new URL(url).pathname.slice(1));
  return pgStore(url, dataDir);
}
