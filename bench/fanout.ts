import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { BENCH_DIR, spawnChild } from './lib/child.ts';
import { gid, KiB, percentile, pool, REQUEST_EVIDENCE, serviceEnv, sleep, type BenchContext, type Figure } from './lib/common.ts';
import { closeBoxes, openBoxes, type BoxEvent } from './lib/sockets.ts';
import { seedShops, shopId } from './lib/seed.ts';

/** Waits until `done()` holds, checking every 20 ms, for at most `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function latencies(received: number[][]) {
  const all = received.flat();
  return { p50: percentile(all, 50), p99: percentile(all, 99), max: Math.max(...all) };
}

/** The raw `ws` broadcast of the same payloads to the same number of sockets, for scale. */
async function rawBroadcast(ctx: BenchContext, sockets: number, shops: number, template: string) {
  const raw = spawnChild('raw-ws.ts', {}, 'raw-ws');
  const clients: WebSocket[] = [];
  try {
    const url = (await raw.event<{ url: string }>('ready')).url;
    const before = (await raw.request<NodeJS.MemoryUsage>('memory')).rss;
    const received: number[][] = Array.from({ length: sockets }, () => []);
    await pool(Array.from({ length: sockets }, (_, i) => i), 200, async (i) => {
      const ws = new WebSocket(url);
      clients.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(shopId(i % shops)));
        ws.once('message', () => {
          ws.on('message', (data) => {
            const at = Date.now();
            received[i]!.push(at - Date.parse(JSON.parse(String(data)).payload.data.messageBox.message.createdAt));
          });
          resolve();
        });
      });
    });
    await sleep(1000);
    const after = (await raw.request<NodeJS.MemoryUsage>('memory')).rss;
    await raw.request('burst', { template });
    await until(() => received.every((r) => r.length === 1), 60_000, 'the raw broadcast');
    return { ...latencies(received), perSocketKiB: (after - before) / sockets / KiB };
  } finally {
    for (const ws of clients) ws.terminate();
    await raw.stop();
  }
}

/**
 * Both fan-out shapes: many shops with a few sockets each (the burst), and
 * one shop with every socket (one event read and sent to all). `BENCH_FANOUT=spread`
 * or `=shop` runs one of them only.
 */
export async function fanout(ctx: BenchContext): Promise<Figure[]> {
  const which = process.env.BENCH_FANOUT;
  const figures: Figure[] = [];
  if (which !== 'shop') {
    figures.push(...(await fanoutRun(ctx, { key: 'fanout', sockets: ctx.quick ? 200 : 10_000, shops: ctx.quick ? 20 : 1_000, events: 1 })));
  }
  if (which !== 'spread') {
    figures.push(...(await fanoutRun(ctx, { key: 'fanoutShop', sockets: ctx.quick ? 100 : 2_000, shops: 1, events: ctx.quick ? 2 : 5 })));
  }
  return figures;
}

/**
 * `sockets` message boxes over `shops` shops; then `events` times, one after
 * the other, the platform asks every shop for evidence once, and each message
 * goes to that shop's sockets.
 */
async function fanoutRun(ctx: BenchContext, run: { key: string; sockets: number; shops: number; events: number }): Promise<Figure[]> {
  const { key, sockets, shops, events } = run;
  const store = await ctx.store(key);
  const { afterSaleIds } = await seedShops(store.target, { shops, perShop: events, now: Date.now() });
  const service = spawnChild('service.ts', serviceEnv(ctx, store, { BENCH_COUNT_STATEMENTS: '1' }), `service-${key}`);
  let boxes: Awaited<ReturnType<typeof openBoxes>> = [];
  try {
    const url = (await service.event<{ url: string }>('ready')).url;
    const wsUrl = `${url.replace('http', 'ws')}/graphql`;
    const tokens = await Promise.all(
      Array.from({ length: shops }, (_, m) => ctx.auth.sign({ role: 'merchant', sub: `${shopId(m)}-staff`, merchantId: shopId(m) })),
    );
    const platform = await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' });

    const heapFile = (when: string) => path.join(BENCH_DIR, 'profiles', `${key}-${when}.heapsnapshot`);
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      fs.mkdirSync(path.join(BENCH_DIR, 'profiles'), { recursive: true });
      await service.request<string>('heapSnapshot', { file: heapFile('before') }, 120_000);
    }
    const before = (await service.request<NodeJS.MemoryUsage>('memory')).rss;
    const received: number[][] = Array.from({ length: sockets }, () => []);
    let template = '';
    const t0 = performance.now();
    boxes = await openBoxes(wsUrl, Array.from({ length: sockets }, (_, i) => tokens[i % shops]!), (i, e: BoxEvent) => {
      if (e.message.kind !== 'EVIDENCE_REQUESTED') return;
      received[i]!.push(e.receivedAt - Date.parse(e.message.createdAt));
      if (i === 0) template = rawTemplate(e);
    });
    ctx.log(`${sockets} sockets subscribed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await sleep(ctx.quick ? 500 : 2000);
    const after = (await service.request<NodeJS.MemoryUsage>('memory')).rss;
    const perSocketKiB = (after - before) / sockets / KiB;
    if (process.env.BENCH_HEAP_SNAPSHOT) {
      // What the idle sockets hold: `npx tsx bench/heap-summary.ts <idle> <before> <sockets>`.
      const file = await service.request<string>('heapSnapshot', { file: heapFile('idle') }, 120_000);
      ctx.log(`heap snapshots: ${path.relative(process.cwd(), file)} and, before the sockets, ${path.relative(process.cwd(), heapFile('before'))}`);
    }

    const statementsBefore = await service.request<number>('statements');
    const cpuBefore = await service.request<number>('cpu');
    const burstStarted = performance.now();
    let committingMs = 0;
    for (let round = 0; round < events; round++) {
      const roundStarted = performance.now();
      // The burst: the platform asks every shop for evidence at once; each message goes to that shop's sockets.
      await pool([...afterSaleIds.values()], 32, async (ids) => {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${platform}` },
          body: JSON.stringify({ query: REQUEST_EVIDENCE, variables: { input: { afterSaleId: gid('AfterSale', ids[round]!), instructions: 'Photos of the parcel, please' } } }),
        });
        const body = (await res.json()) as any;
        if (body.data?.requestEvidence?.__typename !== 'RequestEvidencePayload') throw new Error(`requestEvidence failed: ${JSON.stringify(body)}`);
      });
      committingMs += performance.now() - roundStarted;
      await until(() => received.every((r) => r.length === round + 1), 120_000, 'every socket to get its shop\'s message');
    }
    const delivered = performance.now();
    const statements = (await service.request<number>('statements')) - statementsBefore;
    // CPU the service spent on the events (their writes included): steadier than latency on a shared machine.
    const cpuMs = ((await service.request<number>('cpu')) - cpuBefore) / 1000;
    const svc = latencies(received);
    if (events > 1) {
      // The first event is the process's first write and first shared event: it is apart from the others in the figures.
      const rounds = Array.from({ length: events }, (_, r) => received.map((got) => got[r]!));
      ctx.log(`by event: ${rounds.map((l, r) => `#${r + 1} p50 ${percentile(l, 50)} p99 ${percentile(l, 99)} ms`).join('; ')}`);
    }
    ctx.log(
      `${events} × ${shops} commits, all ${sockets * events} deliveries by ${((delivered - burstStarted) / 1000).toFixed(2)} s; p50 ${svc.p50} ms p99 ${svc.p99} ms max ${svc.max} ms; ${statements} SQL statements; ${cpuMs.toFixed(0)} ms CPU; ${perSocketKiB.toFixed(1)} KiB per socket`,
    );
    await closeBoxes(boxes);
    boxes = [];
    await service.stop();

    const raw = await rawBroadcast(ctx, sockets, shops, template);
    ctx.log(`raw ws: p50 ${raw.p50} ms p99 ${raw.p99} ms max ${raw.max} ms; ${raw.perSocketKiB.toFixed(1)} KiB per socket`);
    const what = `${sockets} sockets / ${shops} shop${shops === 1 ? '' : 's'}`;
    return [
      { key: `${key}.p99`, label: `Fan-out, ${what}: p99 commit to delivery`, value: svc.p99, unit: 'ms', baseline: raw.p99, target: { op: '<', value: shops === 1 ? 100 : 1000 } },
      { key: `${key}.max`, label: `Fan-out, ${what}: slowest delivery`, value: svc.max, unit: 'ms', baseline: raw.max },
      ...(shops === 1
        ? []
        : [{ key: `${key}.commits`, label: 'Fan-out: burst commits (requestEvidence, 32 at a time)', value: (shops * events) / (committingMs / 1000), unit: 'commits/s' }]),
      { key: `${key}.cpu`, label: `Fan-out, ${what}: service CPU per event (its write included)`, value: cpuMs / (shops * events), unit: 'ms' },
      { key: `${key}.statements`, label: `Fan-out, ${what}: SQL statements per event (its write included)`, value: statements / (shops * events), unit: 'statements' },
      { key: `${key}.perSocket`, label: `Fan-out, ${what}: memory per idle subscribed socket`, value: perSocketKiB, unit: 'KiB', baseline: raw.perSocketKiB, target: { op: '<', value: 20 } },
    ];
  } finally {
    await closeBoxes(boxes);
    await service.stop();
  }
}

/** The event as graphql-ws frames it, with the per-shop parts left as placeholders for the raw server. */
function rawTemplate(e: BoxEvent): string {
  const { receivedAt: _, ...event } = e;
  const frame = JSON.stringify({ id: '1', type: 'next', payload: { data: { messageBox: event } } });
  return frame.replace(e.message.createdAt, '%AT%');
}
