import pg from 'pg';
import { createTestDatabase, dropTestDatabases, findOrStartServer, stopServer } from '../test/support/postgres.ts';
import { BENCH_PG_SETTINGS } from './lib/store.ts';
import { BENCH_SHOP, seedDeadlines } from './lib/seed.ts';

/**
 * `npx tsx bench/count-plan.ts`: the workbench's unfiltered count on PostgreSQL (the bench shop's 20,000
 * open rounds, in the deadline scenario's data, which the seed loads into a migrated database) before and
 * after the 100,000 due rounds are expired, with EXPLAIN (ANALYZE, BUFFERS). The catch-up changes rows on
 * nearly every heap page of evidence_requests, which clears those pages' all-visible bits, so the count's
 * index-only scan then fetches every row from the heap. Starts a throwaway server (or uses
 * TEST_DATABASE_URL's) and seeds its own database.
 */
const found = await findOrStartServer(process.env, BENCH_PG_SETTINGS);
if (found.kind === 'none') throw new Error(found.reason);
const url = await createTestDatabase(found.adminUrl, 'probe');
const now = Date.now();
await seedDeadlines(url, { rounds: 1_000_000, due: 100_000, shops: 1_000, now });
const c = new pg.Client({ connectionString: url });
await c.connect();
await c.query('vacuum analyze');
const q = `explain (analyze, buffers) select count(*) from evidence_requests where merchant_id = $1 and status = 'OPEN'`;
const show = async (label: string) => {
  const r = await c.query(q, [BENCH_SHOP]);
  console.log(label); for (const row of r.rows) console.log('  ', row['QUERY PLAN']);
};
await show('before');
await show('before, again');
await c.query(`update evidence_requests set status = 'EXPIRED', closed_at = $1 where status = 'OPEN' and due_at <= $1`, [now]);
await show('after expiring 100k');
await show('after, again');
await c.end();
if (found.kind === 'started') await stopServer(found.server);
else await dropTestDatabases(found.adminUrl, 'probe');
