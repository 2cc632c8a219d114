import Database from 'better-sqlite3';
import path from 'node:path';
import { announce, serveRequests } from './lib/ipc.ts';

/**
 * The raw baseline for the deadline catch-up: the same writes as the service's
 * expiry (round expired, after-sale decided, two log lines, one message) with
 * the same durability (WAL, synchronous=FULL) and 500 rounds per transaction,
 * but set-based: five hand-written statements per batch instead of five per
 * round, no ORM, no events. What the disk and SQLite allow.
 */
const db = new Database(path.join(process.env.DATA_DIR!, 'evidence.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
const BATCH = 500;

const due = db.prepare(`SELECT r.id, r.due_at, a.id AS after_sale_id, a.merchant_id, a.number FROM evidence_requests r
  JOIN after_sales a ON a.id = r.after_sale_id WHERE r.status = 'OPEN' AND r.due_at <= ? ORDER BY r.due_at LIMIT ?`);
const claim = db.prepare(`UPDATE evidence_requests SET status = 'EXPIRED', closed_at = ?
  WHERE id IN (SELECT value FROM json_each(?)) AND status = 'OPEN' AND due_at <= ? RETURNING id`);
const decide = db.prepare(`UPDATE after_sales SET status = 'RESOLVED', outcome = 'BUYER_FAVORED', decided_by = 'SYSTEM_TIMEOUT', decided_at = ?, opinion = NULL
  WHERE id IN (SELECT value FROM json_each(?))`);
const log = db.prepare(`INSERT INTO after_sale_logs (after_sale_id, at, actor, actor_id, action, summary)
  SELECT value ->> '$[0]', ?, 'SYSTEM', 'deadline-scheduler', value ->> '$[1]', value ->> '$[2]' FROM json_each(?)`);
const message = db.prepare(`INSERT INTO messages (merchant_id, after_sale_id, kind, title, body, created_at)
  SELECT value ->> '$[0]', value ->> '$[1]', 'EVIDENCE_EXPIRED', '举证已超时 Evidence expired', value ->> '$[2]', ? FROM json_each(?)`);
const iso = (ms: number) => new Date(ms).toISOString();

const expireBatch = db.transaction((now: number): number => {
  const rows = due.all(now, BATCH) as { id: number; due_at: number; after_sale_id: number; merchant_id: string; number: string }[];
  const claimed = new Set((claim.all(now, JSON.stringify(rows.map((r) => r.id)), now) as { id: number }[]).map((r) => r.id));
  const expired = rows.filter((r) => claimed.has(r.id));
  decide.run(now, JSON.stringify(expired.map((r) => r.after_sale_id)));
  log.run(now, JSON.stringify(expired.flatMap((r) => [
    [r.after_sale_id, 'EVIDENCE_EXPIRED', `No evidence arrived by ${iso(r.due_at)}`],
    [r.after_sale_id, 'ARBITRATION_RESOLVED', 'Resolved in favour of the buyer (no evidence arrived in time)'],
  ])));
  message.run(now, JSON.stringify(expired.map((r) => [r.merchant_id, r.after_sale_id, `售后单 ${r.number} 未在 ${iso(r.due_at)} 前举证，系统已默认支持买家。`])));
  return expired.length;
});

serveRequests({
  stop: () => {
    db.close();
    setImmediate(() => process.exit(0));
  },
});
const started = performance.now();
const cpuStarted = process.cpuUsage();
let expired = 0;
for (;;) {
  const n = expireBatch.immediate(Date.now());
  expired += n;
  if (n < BATCH) break;
}
const cpu = process.cpuUsage(cpuStarted);
announce('ready', { expired, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 });
