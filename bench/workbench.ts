import autocannon from 'autocannon';
import { spawnChild, type Child } from './lib/child.ts';
import { processCpu } from './lib/cpu.ts';
import { gql, serviceEnv, type BenchContext, type Figure } from './lib/common.ts';
import { BENCH_SHOP, seedWorkbench } from './lib/seed.ts';
import { comparable, WORKBENCH_QUERY } from './workbench-query.ts';

export const CONNECTIONS = 16;

/** Closed-loop load with autocannon: keep-alive, 16 connections, the same request each time. */
export async function hammer(url: string, token: string, first: number, seconds: number) {
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: WORKBENCH_QUERY, variables: { first } }),
  });
  if (result.errors || result.non2xx || result.timeouts) {
    throw new Error(`load test saw ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`);
  }
  return { rps: result.requests.average, p99: result.latency.p99, total: result.requests.total };
}

type Load = Awaited<ReturnType<typeof hammer>>;
/** A side's load with what it cost: CPU seconds of its own process, and of the database server (null on SQLite). */
type Measured = Load & { cpu: number; serverCpu: number | null };
/** One side under test: where to send the load, and how to read its CPU so far. */
type Side = { url: string; cpu: () => number };

/**
 * The service and the raw baseline under the same load, in `turns` turns of `seconds / turns` each, in the
 * order S R R S S R R S (so a steady drift in the machine's speed favours neither): requests/s over
 * all of each one's turns, and the highest of its turns' p99.
 */
const TURNS = 4;
async function inTurns(service: Side, raw: Side, token: string, seconds: number, turns: number, serverCpu: () => Promise<number | null>): Promise<{ svc: Measured; base: Measured }> {
  const turn = Math.max(1, Math.round(seconds / turns));
  const runs: { svc: Measured[]; base: Measured[] } = { svc: [], base: [] };
  for (let i = 0; i < turns; i++) {
    const order = i % 2 === 0 ? (['svc', 'base'] as const) : (['base', 'svc'] as const);
    for (const who of order) {
      const side = who === 'svc' ? service : raw;
      const [cpu0, server0] = [side.cpu(), await serverCpu()];
      const load = await hammer(side.url, token, 50, turn);
      const server1 = await serverCpu();
      runs[who].push({ ...load, cpu: side.cpu() - cpu0, serverCpu: server0 == null || server1 == null ? null : server1 - server0 });
    }
  }
  const sum = (loads: Measured[]): Measured => {
    const total = loads.reduce((n, l) => n + l.total, 0);
    const servers = loads.map((l) => l.serverCpu);
    return {
      rps: total / (turn * loads.length),
      p99: Math.max(...loads.map((l) => l.p99)),
      total,
      cpu: loads.reduce((n, l) => n + l.cpu, 0),
      serverCpu: servers.includes(null) ? null : servers.reduce((n, c) => n! + c!, 0),
    };
  };
  return { svc: sum(runs.svc), base: sum(runs.base) };
}

async function answer(url: string, token: string, first: number) {
  return gql(url, token, WORKBENCH_QUERY, { first });
}

async function statementsFor(child: Child, url: string, token: string, first: number): Promise<number> {
  const before = await child.request<number>('statements');
  await answer(url, token, first);
  return (await child.request<number>('statements')) - before;
}

export async function workbench(ctx: BenchContext): Promise<Figure[]> {
  const store = await ctx.store('workbench');
  const size = ctx.quick ? { afterSales: 2_000, logsPerAfterSale: 10, shops: 20 } : { afterSales: 100_000, logsPerAfterSale: 10, shops: 1_000 };
  const seconds = ctx.quick ? 1 : 20;
  const t0 = performance.now();
  await seedWorkbench(store.target, { ...size, now: Date.now() });
  ctx.log(`seeded ${size.afterSales} after-sales, ${size.afterSales * size.logsPerAfterSale} log lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const token = await ctx.auth.sign({ role: 'merchant', sub: `${BENCH_SHOP}-staff`, merchantId: BENCH_SHOP });
  // No sweep during the measurement: nothing in this database is due for hours.
  const env = serviceEnv(ctx, store, { SWEEP_INTERVAL: '1h' });

  // Statements per request, and the answer the baseline must match.
  const counting = spawnChild('service.ts', { ...env, BENCH_COUNT_STATEMENTS: '1' }, 'service-statements');
  let statements10: number, statements50: number, expected: unknown;
  try {
    const { url } = await counting.event<{ url: string }>('ready');
    expected = await answer(url, token, 50);
    const rows = (expected as any).awaitingEvidence.edges;
    const files = rows.flatMap((e: any) => e.node.evidenceRequests.flatMap((r: any) => r.submission?.files ?? []));
    if (rows.length !== 50 || files.length === 0) throw new Error(`the page has ${rows.length} rows and ${files.length} files; the seed is wrong`);
    statements10 = await statementsFor(counting, url, token, 10);
    statements50 = await statementsFor(counting, url, token, 50);
  } finally {
    await counting.stop();
  }

  const raw = ctx.db === 'pg'
    ? spawnChild('raw-workbench-pg.ts', { DATABASE_URL: store.target, AUTH_SECRET: ctx.secret }, 'raw-workbench-pg')
    : spawnChild('raw-workbench.ts', { DATA_DIR: store.dataDir, AUTH_SECRET: ctx.secret }, 'raw-workbench');
  const service = spawnChild('service.ts', env, 'service-workbench');
  try {
    const rawUrl = (await raw.event<{ url: string }>('ready')).url;
    const serviceUrl = (await service.event<{ url: string }>('ready')).url;
    const rawAnswer = await fetch(`${rawUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: WORKBENCH_QUERY, variables: { first: 50 } }),
    }).then((r) => r.json() as Promise<{ data: unknown }>);
    if (comparable(rawAnswer.data) !== comparable(expected)) {
      const at = [...comparable(expected)].findIndex((c, i) => c !== comparable(rawAnswer.data)[i]);
      throw new Error(`the raw baseline does not return the same JSON as the service; first difference: …${comparable(expected).slice(at - 80, at + 80)}… vs …${comparable(rawAnswer.data).slice(at - 80, at + 80)}…`);
    }

    // Warm both (JIT, page cache), then measure them in turns, so that a change in the machine's speed
    // during the run (a shared host's neighbours) weighs on both alike.
    await hammer(serviceUrl, token, 50, ctx.quick ? 1 : 3);
    await hammer(rawUrl, token, 50, ctx.quick ? 1 : 3);
    const { svc, base } = await inTurns(
      { url: serviceUrl, cpu: () => processCpu(service.pid) },
      { url: rawUrl, cpu: () => processCpu(raw.pid) },
      token,
      seconds,
      ctx.quick ? 1 : TURNS,
      () => store.serverCpu(),
    );
    // CPU per page: on a shared host steadier than requests/s, which move with the neighbours.
    const perPage = (cpuSeconds: number, load: Measured) => (cpuSeconds * 1000) / load.total;
    const [svcMs, baseMs] = [perPage(svc.cpu, svc), perPage(base.cpu, base)];
    const [svcServerMs, baseServerMs] = [svc, base].map((load) => (load.serverCpu == null ? null : perPage(load.serverCpu, load)));
    ctx.log(`service ${svc.rps.toFixed(0)} req/s p99 ${svc.p99} ms, ${svcMs.toFixed(2)} ms CPU a page; raw ${base.rps.toFixed(0)} req/s p99 ${base.p99} ms, ${baseMs.toFixed(2)} ms CPU a page`);
    return [
      { key: 'workbench.rps', label: 'Workbench page: requests/s (raw baseline beside)', value: svc.rps, unit: 'req/s', baseline: base.rps },
      { key: 'workbench.ratio', label: 'Workbench page: throughput / raw baseline', value: svc.rps / base.rps, unit: '×', target: { op: '>=', value: 0.5 } },
      { key: 'workbench.p99', label: 'Workbench page: p99 latency at 16 connections', value: svc.p99, unit: 'ms', baseline: base.p99 },
      { key: 'workbench.processCpu', label: `Workbench page: CPU per page in the service process${ctx.db === 'sqlite' ? ' (SQLite included)' : ''}`, value: svcMs, unit: 'ms', baseline: baseMs },
      ...(svcServerMs == null || baseServerMs == null
        ? []
        : ([{ key: 'workbench.serverCpu', label: 'Workbench page: PostgreSQL server CPU per page', value: svcServerMs, unit: 'ms', baseline: baseServerMs }] satisfies Figure[])),
      { key: 'workbench.statements10', label: 'Workbench page: SQL statements, first: 10', value: statements10, unit: 'stmts', target: { op: '<=', value: 6 } },
      { key: 'workbench.statements50', label: 'Workbench page: SQL statements, first: 50', value: statements50, unit: 'stmts', target: { op: '<=', value: 6 } },
      { key: 'workbench.statementsGrowth', label: 'Workbench page: extra statements for 50 rows over 10', value: statements50 - statements10, unit: 'stmts', target: { op: '<=', value: 0 } },
    ];
  } finally {
    await Promise.all([raw.stop(), service.stop()]);
  }
}
