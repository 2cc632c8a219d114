import type { AddressInfo } from 'node:net';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { announce, memory, serveRequests } from './lib/ipc.ts';

/**
 * The service as the benchmarks run it: a process of its own (so its RSS and
 * CPU are its own), configured from the environment like `npm start`, with a
 * few IPC requests for the bench to read figures from inside.
 */
let statements = 0;
const app = createApp(loadConfig(), process.env.BENCH_COUNT_STATEMENTS === '1' ? { onStatement: () => void statements++ } : {});
const db = app.services.db.$client;

serveRequests({
  memory,
  statements: () => statements,
  /** Bench-only reads (e.g. counting what a catch-up changed). */
  sql: ({ sql, params = [] }: { sql: string; params?: unknown[] }) => db.prepare(sql).all(...params),
  async stop() {
    await app.stop();
    setImmediate(() => process.exit(0));
  },
});

const url = () => `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
app.server.once('listening', () => announce('listening', { url: url() }));
const started = performance.now();
const startedAt = Date.now();
await app.start();
announce('ready', { url: url(), startMs: performance.now() - started, startedAt });
