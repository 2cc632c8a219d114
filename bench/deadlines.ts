import Database from 'better-sqlite3';
import pg from 'pg';
import { systemClock } from '../src/clock.ts';
import { nextDeadlineInstant } from '../src/cases/deadlines.ts';
import { createEvents } from '../src/events.ts';
import { DeadlineScheduler } from '../src/jobs/scheduler.ts';
import { spawnChild } from './lib/child.ts';
import { processCpu } from './lib/cpu.ts';
import { percentile, serviceEnv, type BenchContext, type Figure } from './lib/common.ts';
import { BENCH_SHOP, seedDeadlines } from './lib/seed.ts';
import type { Store } from './lib/store.ts';
import { WORKBENCH_QUERY } from './workbench-query.ts';

const LEAD_MS = 12 * 3_600_000;
/** 20 workbench pages a second during the catch-up. */
const WORKBENCH_EVERY_MS = 50;

/**
 * Merchants using the workbench during the catch-up: open-loop, one request
 * every `everyMs` whether or not the last one has answered, until `stop`
 * resolves; returns each one's latency (ms) and when it was sent (ms after the first).
 */
async function workbenchLoad(url: string, token: string, everyMs: number, stop: Promise<unknown>) {
  const latencies: { sentAt: number; ms: number }[] = [];
  // The client's own first request (undici setting up, a new connection) is not the service's latency.
  await (await fetch(`${url}/healthz`)).text();
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  const body = JSON.stringify({ query: WORKBENCH_QUERY, variables: { first: 50 } });
  const one = async () => {
    const t = performance.now();
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const json = (await res.json()) as { errors?: unknown };
    if (json.errors) throw new Error(`workbench failed during catch-up: ${JSON.stringify(json.errors)}`);
    latencies.push({ sentAt: t - started, ms: performance.now() - t });
  };
  let failure: unknown = null;
  const send = () => {
    const p = one().catch((e) => void (failure = e)).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  send();
  const timer = setInterval(send, everyMs);
  await stop;
  clearInterval(timer);
  await Promise.all(inFlight);
  if (failure) throw failure;
  return latencies;
}

/** What a catch-up cost: rounds/s, and CPU µs per round in the process that ran it and in the database server (null on SQLite). */
type CatchUpCost = { rate: number; processUsPerRound: number; serverUsPerRound: number | null };

/** CPU µs per round between two readings of a process and of its database server. */
function perRound(rounds: number, process: [number, number], server: [number | null, number | null]) {
  const us = (a: number, b: number) => ((b - a) * 1e6) / rounds;
  return { processUsPerRound: us(...process), serverUsPerRound: server[0] == null || server[1] == null ? null : us(server[0], server[1]) };
}

/** The set-based raw expiry on a copy of the same table, alone on the machine. */
async function rawCatchUp(store: Store, due: number): Promise<CatchUpCost> {
  const server0 = await store.serverCpu();
  const raw = store.dialect === 'pg'
    ? spawnChild('raw-expiry-pg.ts', { DATABASE_URL: store.target }, 'raw-expiry-pg')
    : spawnChild('raw-expiry.ts', { DATA_DIR: store.dataDir }, 'raw-expiry');
  try {
    const { expired, ms, cpuMs } = await raw.event<{ expired: number; ms: number; cpuMs: number }>('ready', 300_000);
    if (expired !== due) throw new Error(`the raw expiry expired ${expired} of ${due} rounds`);
    // Its own CPU from the first batch to the last, as the service's is from listening to caught up; the server's
    // from the start (the raw connects and prepares one statement, a small share of 100,000 rounds).
    return { rate: expired / (ms / 1000), ...perRound(expired, [0, cpuMs / 1000], [server0, await store.serverCpu()]) };
  } finally {
    await raw.stop();
  }
}

/** What one scheduler tick costs with nothing due: the sweep, then the query that re-arms the timer. */
async function sweepCost(store: Store, runs: number) {
  const db = await store.open();
  try {
    const scheduler = new DeadlineScheduler(db, createEvents(), systemClock, { reminderLeadMs: LEAD_MS, sweepIntervalMs: 5000 });
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const done = await scheduler.sweepOnce();
      await nextDeadlineInstant(db, LEAD_MS);
      times.push(performance.now() - t);
      if (done.expired || done.reminded) throw new Error('something was due; the sweep cost is for an idle table');
    }
    return { mean: times.reduce((a, b) => a + b, 0) / runs, p99: percentile(times, 99) };
  } finally {
    await db.close();
  }
}

/** The statements of one idle tick, each with the database's plan for it. */
async function sweepPlans(store: Store): Promise<string> {
  const statements: string[] = [];
  const db = await store.open({ onStatement: (sql) => statements.push(sql) });
  if (store.dialect === 'pg') {
    try {
      const scheduler = new DeadlineScheduler(db, createEvents(), systemClock, { reminderLeadMs: LEAD_MS, sweepIntervalMs: 5000 });
      statements.length = 0;
      await scheduler.sweepOnce();
      await nextDeadlineInstant(db, LEAD_MS);
    } finally {
      await db.close();
    }
    return pgPlans(store.target, statements);
  }
  const explain = new Database(store.target, { readonly: true });
  try {
    const scheduler = new DeadlineScheduler(db, createEvents(), systemClock, { reminderLeadMs: LEAD_MS, sweepIntervalMs: 5000 });
    statements.length = 0;
    await scheduler.sweepOnce();
    await nextDeadlineInstant(db, LEAD_MS);
    return statements
      .filter((sql) => /^\s*(select|update|insert|delete|with)/i.test(sql))
      .map((sql) => {
        const plan = explain.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[];
        // The column lists say nothing about the plan; the clauses after FROM do.
        const shown = sql.replace(/^select (.*?) from /is, (all, columns: string) => (columns.includes(',') ? 'select … from ' : all));
        return `${shown}\n${plan.map((p) => `    ${p.detail}`).join('\n')}`;
      })
      .join('\n');
  } finally {
    explain.close();
    await db.close();
  }
}

/** The generic plans PostgreSQL keeps for the statements (the ones a prepared statement gets), by PREPARE and EXPLAIN EXECUTE. */
async function pgPlans(url: string, statements: string[]): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan');
    const shown: string[] = [];
    for (const [i, sql] of statements.filter((s) => /^\s*(select|update|insert|delete|with)/i.test(s)).entries()) {
      const params = Math.max(0, ...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      await client.query(`PREPARE plan${i} AS ${sql}`);
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) EXECUTE plan${i}${params ? `(${Array(params).fill('NULL').join(',')})` : ''}`);
      const head = sql.replace(/^select (.*?) from /is, (all, columns: string) => (columns.includes(',') ? 'select … from ' : all));
      shown.push(`${head}\n${plan.rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
    }
    return shown.join('\n');
  } finally {
    await client.end();
  }
}

type Ready = { startMs: number; beforeListeningMs: number; catchUpMs: number; startedAt: number };

export async function deadlines(ctx: BenchContext): Promise<Figure[]> {
  const size = ctx.quick ? { rounds: 20_000, due: 2_000, shops: 20 } : { rounds: 1_000_000, due: 100_000, shops: 1_000 };
  const store = await ctx.store('deadlines');
  const t0 = performance.now();
  await seedDeadlines(store.target, { ...size, now: Date.now() });
  ctx.log(`seeded ${size.rounds} rounds, ${size.due} of them past due, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const raw = await rawCatchUp(await store.copy('raw', ctx.dir('deadlines-raw')), size.due);
  const token = await ctx.auth.sign({ role: 'merchant', sub: `${BENCH_SHOP}-staff`, merchantId: BENCH_SHOP });

  // The service starts after "downtime": it listens at once and catches up in the background.
  const service = spawnChild('service.ts', serviceEnv(ctx, store), 'service-deadlines');
  let load: { sentAt: number; ms: number }[];
  let ready: Ready;
  let catchUpCpu!: ReturnType<typeof perRound>;
  try {
    const { url } = await service.event<{ url: string }>('listening');
    const before: [number, number | null] = [processCpu(service.pid), await store.serverCpu()];
    const caughtUp = service.event<Ready>('ready', ctx.quick ? 120_000 : 900_000).then(async (ready) => {
      catchUpCpu = perRound(size.due, [before[0], processCpu(service.pid)], [before[1], await store.serverCpu()]);
      return ready;
    });
    load = ctx.catchUpAlone ? (await caughtUp, []) : await workbenchLoad(url, token, WORKBENCH_EVERY_MS, caughtUp);
    ready = await caughtUp;
    const [{ n: expired }] = await service.request<[{ n: number }]>('sql', {
      sql: `SELECT count(*) AS n FROM evidence_requests WHERE status = 'EXPIRED' AND closed_at >= ?`,
      params: [ready.startedAt],
    });
    const [{ n: left }] = await service.request<[{ n: number }]>('sql', {
      sql: `SELECT count(*) AS n FROM evidence_requests WHERE status = 'OPEN' AND due_at <= ?`,
      params: [Date.now()],
    });
    if (expired !== size.due || left !== 0) throw new Error(`catch-up expired ${expired} of ${size.due} rounds and left ${left}`);
  } finally {
    await service.stop();
  }
  // The catch-up starts once the service listens (the start-up warm-up runs before): from there to ready.
  const rate = size.due / (ready.catchUpMs / 1000);
  const p99 = percentile(load.map((l) => l.ms), 99);
  // The first requests also meet a cold process (JIT, caches): the same page takes ~70 ms as a fresh process's first request.
  const warm = load.filter((l) => l.sentAt >= (ctx.quick ? 0 : 1000)).map((l) => l.ms);
  const warmP99 = percentile(warm, 99);
  ctx.log(`catch-up CPU per round: service ${catchUpCpu.processUsPerRound.toFixed(0)} µs (raw ${raw.processUsPerRound.toFixed(0)}), server ${catchUpCpu.serverUsPerRound?.toFixed(0) ?? '-'} µs (raw ${raw.serverUsPerRound?.toFixed(0) ?? '-'})`);
  ctx.log(`catch-up: ${size.due} rounds in ${(ready.catchUpMs / 1000).toFixed(2)} s = ${rate.toFixed(0)}/s (start to listening ${ready.beforeListeningMs.toFixed(0)} ms); ${load.length} workbench requests meanwhile, p99 ${p99.toFixed(1)} ms (${warmP99.toFixed(1)} ms from the 2nd second on)`);

  const cost = await sweepCost(store, ctx.quick ? 100 : 1000);
  ctx.note('Deadline sweep with nothing due: statements and query plans', await sweepPlans(store));
  return [
    { key: 'deadlines.catchUpRate', label: `Deadlines: catch-up of ${size.due} due rounds (${size.rounds} in table${ctx.catchUpAlone ? ', no workbench load' : ''})`, value: rate, unit: 'rounds/s', baseline: raw.rate, target: { op: '>=', value: ctx.db === 'pg' ? 10_000 : 20_000 } },
    ...(ctx.catchUpAlone
      ? []
      : ([
          { key: 'deadlines.workbenchP99', label: 'Deadlines: workbench p99 during catch-up (20 req/s)', value: p99, unit: 'ms', target: { op: '<', value: 100 } },
          { key: 'deadlines.workbenchWarmP99', label: 'Deadlines: the same, requests sent from the 2nd second on', value: warmP99, unit: 'ms' },
          { key: 'deadlines.workbenchRequests', label: 'Deadlines: workbench requests answered during catch-up', value: load.length, unit: 'req' },
        ] satisfies Figure[])),
    // On a shared host steadier than rates, which move with the neighbours (CPU per round moves too, less).
    { key: 'deadlines.catchUpProcessCpu', label: `Deadlines: catch-up, CPU per round in the service process${ctx.db === 'sqlite' ? ' (SQLite included)' : ''}${load.length ? ', its requests included' : ''}`, value: catchUpCpu.processUsPerRound, unit: 'µs', baseline: raw.processUsPerRound },
    ...(catchUpCpu.serverUsPerRound == null || raw.serverUsPerRound == null
      ? []
      : ([
          { key: 'deadlines.catchUpServerCpu', label: `Deadlines: catch-up, PostgreSQL server CPU per round${load.length ? ', the requests\' queries included' : ''}`, value: catchUpCpu.serverUsPerRound, unit: 'µs', baseline: raw.serverUsPerRound },
        ] satisfies Figure[])),
    { key: 'deadlines.idleSweepMean', label: 'Deadlines: idle sweep (sweep + re-arm), mean', value: cost.mean, unit: 'ms', target: { op: '<', value: 2 } },
    { key: 'deadlines.idleSweepP99', label: 'Deadlines: idle sweep (sweep + re-arm), p99', value: cost.p99, unit: 'ms' },
  ];
}
