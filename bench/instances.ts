import { createTestDatabase, findOrStartServer, stopServer } from '../test/support/postgres.ts';
import { startRedis } from '../test/support/redis.ts';
import { spawnChild, type Child } from './lib/child.ts';
import { gql, percentile, REQUEST_EVIDENCE, serviceEnv, sleep, type BenchContext, type Figure } from './lib/common.ts';
import { closeBoxes, openBoxes, type Box, type BoxEvent } from './lib/sockets.ts';

const RECORD = `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { ... on RecordAfterSalePayload { afterSale { id } } } }`;

let serial = 0;

/** One new EVIDENCE_REQUESTED message for `merchantId`, written through `url`: a fresh after-sale, then a round. */
async function message(url: string, platform: string, merchantId: string): Promise<void> {
  const number = `BX${process.pid}-${++serial}`;
  const recorded = await gql(url, platform, RECORD, {
    input: { merchantId, number, orderNumber: `OD-${number}`, type: 'REFUND_ONLY', reason: 'Damaged', buyerClaim: 'Broken', amountCents: 100 },
  });
  const requested = await gql(url, platform, REQUEST_EVIDENCE, { input: { afterSaleId: recorded.recordAfterSale.afterSale.id, instructions: 'Photos, please' } });
  if (requested.requestEvidence.__typename !== 'RequestEvidencePayload') throw new Error(JSON.stringify(requested));
}

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Two instances of the service on one PostgreSQL and one Redis: how long a
 * commit on one takes to reach sockets on the other, and one event's fan-out
 * to many sockets of one shop split over both.
 */
export async function instances(ctx: BenchContext): Promise<Figure[]> {
  const found = await findOrStartServer();
  if (found.kind === 'none') {
    ctx.log(`instances: skipped (${found.reason})`);
    return [];
  }
  const redis = await startRedis();
  const children: Child[] = [];
  let boxes: Box[] = [];
  try {
    const databaseUrl = await createTestDatabase(found.adminUrl, 'bench_instances');
    const shared = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, FILES_DIR: ctx.dir('instances-files') };
    for (const name of ['a', 'b']) children.push(spawnChild('service.ts', serviceEnv(ctx, { dataDir: ctx.dir(`instance-${name}`), env: {} }, shared), `service-${name}`));
    const [a, b] = await Promise.all(children.map((c) => c.event<{ url: string }>('ready').then((r) => r.url)));
    const platform = await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' });
    const token = (m: string) => ctx.auth.sign({ role: 'merchant', sub: `${m}-staff`, merchantId: m });

    // Commit on a, delivery on b: one socket each for a number of shops, one message at a time.
    const shops = ctx.quick ? 5 : 50;
    const events = ctx.quick ? 20 : 300;
    const names = Array.from({ length: shops }, (_, i) => `shop-x${i}`);
    for (const m of names) await message(a!, platform, m); // what each box replays first, to know it is live
    const crossing: number[] = [];
    boxes = await openBoxes(`${b!.replace('http', 'ws')}/graphql`, await Promise.all(names.map(token)), (_i, e: BoxEvent) => {
      if (e.receivedAt - Date.parse(e.message.createdAt) < 60_000 && crossing.length < events + shops) crossing.push(e.receivedAt - Date.parse(e.message.createdAt));
    });
    crossing.length = 0;
    for (let i = 0; i < events; i++) {
      const want = crossing.length + 1;
      await message(a!, platform, names[i % shops]!);
      await until(() => crossing.length >= want, 10_000, 'the crossing event');
    }
    await closeBoxes(boxes);
    boxes = [];
    const crossP99 = percentile(crossing, 99);
    ctx.log(`cross-instance: ${events} events, p50 ${percentile(crossing, 50)} ms, p99 ${crossP99} ms`);

    // One shop, many sockets, half on each instance; a few events, each to all of them.
    const sockets = ctx.quick ? 100 : 2_000;
    const bursts = ctx.quick ? 2 : 5;
    await message(a!, platform, 'shop-crowd');
    const crowd = await token('shop-crowd');
    const got: number[][] = Array.from({ length: sockets }, () => []);
    const halves = await Promise.all(
      [a!, b!].map((url, half) =>
        openBoxes(`${url.replace('http', 'ws')}/graphql`, Array.from({ length: sockets / 2 }, () => crowd), (i, e: BoxEvent) => {
          got[half * (sockets / 2) + i]!.push(e.receivedAt - Date.parse(e.message.createdAt));
        }),
      ),
    );
    boxes = halves.flat();
    for (const g of got) g.length = 0; // the replayed first message
    for (let n = 1; n <= bursts; n++) {
      await message(a!, platform, 'shop-crowd');
      await until(() => got.every((g) => g.length >= n), 30_000, 'the fan-out');
      await sleep(200);
    }
    const fan = got.flat();
    const fanP99 = percentile(fan, 99);
    ctx.log(`two-instance fan-out: ${bursts} events to ${sockets} sockets of one shop, p50 ${percentile(fan, 50)} ms, p99 ${fanP99} ms`);
    return [
      { key: 'instances.crossP99', label: `Instances (PostgreSQL + Redis): commit on one to delivery on the other, p99 (${events} events)`, value: crossP99, unit: 'ms', target: { op: '<', value: 100 } },
      { key: 'instances.crossP50', label: 'Instances: the same, p50', value: percentile(crossing, 50), unit: 'ms' },
      { key: 'instances.fanoutP99', label: `Instances: one event to ${sockets} sockets of one shop, half on each, p99`, value: fanP99, unit: 'ms', target: { op: '<', value: 200 } },
    ];
  } finally {
    await closeBoxes(boxes);
    await Promise.all(children.map((c) => c.stop()));
    await redis.stop();
    if (found.kind === 'started') await stopServer(found.server);
  }
}
