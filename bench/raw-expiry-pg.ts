import pg from 'pg';
import { announce, serveRequests } from './lib/ipc.ts';

/**
 * The raw baseline for the deadline catch-up on PostgreSQL: the same writes
 * as the service's expiry (round expired, after-sale decided, two log lines,
 * one message) with the server's default durability (synchronous_commit on,
 * so every commit waits for its WAL flush) and 500 rounds per transaction,
 * but set-based and in SQL: one hand-written statement per batch (data-
 * modifying CTEs: pick the due rounds, expire them, decide their after-sales,
 * write the log lines and the messages, texts and ISO times built by the
 * server) instead of statements per round; no ORM, no events, no locks beyond
 * the rows' own (nothing else writes). What the server allows.
 */
const BATCH = 500;
const client = new pg.Client({ connectionString: process.env.DATABASE_URL! });
await client.connect();

const ISO = `to_char(to_timestamp(d.due_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const EXPIRE = `WITH due AS (
    SELECT id, due_at, after_sale_id FROM evidence_requests WHERE status = 'OPEN' AND due_at <= $1 ORDER BY due_at LIMIT ${BATCH} FOR UPDATE
  ), claimed AS (
    UPDATE evidence_requests r SET status = 'EXPIRED', closed_at = $1 FROM due WHERE r.id = due.id RETURNING r.after_sale_id, due.due_at
  ), d AS (
    UPDATE after_sales a SET status = 'RESOLVED', outcome = 'BUYER_FAVORED', decided_by = 'SYSTEM_TIMEOUT', decided_at = $1, opinion = NULL
    FROM claimed c WHERE a.id = c.after_sale_id RETURNING a.id, a.merchant_id, a.number, c.due_at
  ), logs AS (
    INSERT INTO after_sale_logs (after_sale_id, at, actor, actor_id, action, summary)
    SELECT d.id, $1, 'SYSTEM', 'deadline-scheduler', x.action, x.summary FROM d CROSS JOIN LATERAL (VALUES
      (1, 'EVIDENCE_EXPIRED', 'No evidence arrived by ' || ${ISO}),
      (2, 'ARBITRATION_RESOLVED', 'Resolved in favour of the buyer (no evidence arrived in time)')) AS x(k, action, summary)
    ORDER BY d.due_at, d.id, x.k
  ), messages AS (
    INSERT INTO messages (merchant_id, after_sale_id, kind, title, body, created_at)
    SELECT d.merchant_id, d.id, 'EVIDENCE_EXPIRED', '举证已超时 Evidence expired', '售后单 ' || d.number || ' 未在 ' || ${ISO} || ' 前举证，系统已默认支持买家。', $1
    FROM d ORDER BY d.due_at, d.id
  )
  SELECT count(*)::int AS n FROM d`;

serveRequests({
  stop: async () => {
    await client.end();
    setImmediate(() => process.exit(0));
  },
});
const started = performance.now();
const cpuStarted = process.cpuUsage();
let expired = 0;
for (;;) {
  const { rows } = await client.query<{ n: number }>({ name: 'expire', text: EXPIRE, values: [Date.now()] });
  const n = rows[0]!.n;
  expired += n;
  if (n < BATCH) break;
}
const cpu = process.cpuUsage(cpuStarted);
announce('ready', { expired, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 });
