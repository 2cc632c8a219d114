import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import path from 'node:path';
import v8 from 'node:v8';
import pg from 'pg';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { announce, memory, serveRequests } from './lib/ipc.ts';

/**
 * The service as the benchmarks run it: a process of its own (so its RSS and
 * CPU are its own), configured from the environment like `npm start`, with a
 * few IPC requests for the bench to read figures from inside.
 */
let statements = 0;
const config = loadConfig();
const app = await createApp(config, process.env.BENCH_COUNT_STATEMENTS === '1' ? { onStatement: () => void statements++ } : {});

/** Bench-only reads with `?` placeholders, on a connection of their own. */
async function query(text: string, params: unknown[]): Promise<unknown[]> {
  if (config.databaseUrl) {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      let i = 0;
      return (await client.query(text.replace(/\?/g, () => `$${++i}`), params)).rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])),
      );
    } finally {
      await client.end();
    }
  }
  const db = new Database(path.join(config.dataDir, 'evidence.db'), { readonly: true });
  try {
    return db.prepare(text).all(...params);
  } finally {
    db.close();
  }
}

serveRequests({
  memory,
  statements: () => statements,
  /** CPU time this process has used, in microseconds (user + system). */
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
  /** Writes a heap snapshot to `file` (after a full collection) and answers its path. */
  heapSnapshot: ({ file }: { file: string }) => {
    memory();
    return v8.writeHeapSnapshot(file);
  },
  /** Bench-only reads (e.g. counting what a catch-up changed). */
  sql: ({ sql, params = [] }: { sql: string; params?: unknown[] }) => query(sql, params),
  async stop() {
    await app.stop();
    setImmediate(() => process.exit(0));
  },
});

const url = () => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
let listeningAt = NaN;
app.server.once('listening', () => {
  listeningAt = performance.now();
  announce('listening', { url: url() });
});
const started = performance.now();
const startedAt = Date.now();
await app.start();
const readyAt = performance.now();
// Before listening: the warm-up. From listening to ready: the deadline catch-up, beside requests.
announce('ready', { url: url(), startMs: readyAt - started, beforeListeningMs: listeningAt - started, catchUpMs: readyAt - listeningAt, startedAt });
