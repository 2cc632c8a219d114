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
