import WebSocket from 'ws';
import { spawnChild } from './lib/child.ts';
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

export async function fanout(ctx: BenchContext): Promise<Figure[]> {
  const sockets = ctx.quick ? 200 : 10_000;
  const shops = ctx.quick ? 20 : 1_000;
  const store = await ctx.store('fanout');
  const { afterSaleIds } = await seedShops(store.target, { shops, perShop: 1, now: Date.now() });
  const service = spawnChild('service.ts', serviceEnv(ctx, store), 'service-fanout');
  let boxes: Awaited<ReturnType<typeof openBoxes>> = [];
  try {
    const url = (await service.event<{ url: string }>('ready')).url;
    const wsUrl = `${url.replace('http', 'ws')}/graphql`;
    const tokens = await Promise.all(
      Array.from({ length: shops }, (_, m) => ctx.auth.sign({ role: 'merchant', sub: `${shopId(m)}-staff`, merchantId: shopId(m) })),
    );
    const platform = await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' });

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

    // The burst: the platform asks every shop for evidence at once; each message goes to that shop's sockets.
    const burstStarted = performance.now();
    await pool([...afterSaleIds.values()], 32, async ([id]) => {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${platform}` },
        body: JSON.stringify({ query: REQUEST_EVIDENCE, variables: { input: { afterSaleId: gid('AfterSale', id!), instructions: 'Photos of the parcel, please' } } }),
      });
      const body = (await res.json()) as any;
      if (body.data?.requestEvidence?.__typename !== 'RequestEvidencePayload') throw new Error(`requestEvidence failed: ${JSON.stringify(body)}`);
    });
    const committed = performance.now();
    await until(() => received.every((r) => r.length === 1), 120_000, 'every socket to get its shop\'s message');
    const delivered = performance.now();
    const svc = latencies(received);
    ctx.log(`burst: ${shops} commits in ${((committed - burstStarted) / 1000).toFixed(2)} s, all ${sockets} deliveries by ${((delivered - burstStarted) / 1000).toFixed(2)} s; p50 ${svc.p50} ms p99 ${svc.p99} ms max ${svc.max} ms`);
    await closeBoxes(boxes);
    boxes = [];
    await service.stop();

    const raw = await rawBroadcast(ctx, sockets, shops, template);
    ctx.log(`raw ws: p50 ${raw.p50} ms p99 ${raw.p99} ms max ${raw.max} ms; ${raw.perSocketKiB.toFixed(1)} KiB per socket`);
    return [
      { key: 'fanout.p99', label: `Fan-out, ${sockets} sockets / ${shops} shops: p99 commit to delivery`, value: svc.p99, unit: 'ms', baseline: raw.p99, target: { op: '<', value: 1000 } },
      { key: 'fanout.max', label: 'Fan-out: slowest delivery', value: svc.max, unit: 'ms', baseline: raw.max },
      { key: 'fanout.commits', label: 'Fan-out: burst commits (requestEvidence, 32 at a time)', value: shops / ((committed - burstStarted) / 1000), unit: 'commits/s' },
      { key: 'fanout.perSocket', label: 'Fan-out: memory per idle subscribed socket', value: perSocketKiB, unit: 'KiB', baseline: raw.perSocketKiB, target: { op: '<', value: 50 } },
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
