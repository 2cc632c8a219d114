import { spawnChild } from './lib/child.ts';
import { gid, gql, percentile, REQUEST_EVIDENCE, sleep, serviceEnv, type BenchContext, type Figure } from './lib/common.ts';
import { closeBoxes, openBoxes, type Box, type BoxEvent } from './lib/sockets.ts';
import { seedShops, shopId } from './lib/seed.ts';

/**
 * Rounds opened evenly over `spreadMs` with a short EVIDENCE_WINDOW, so they
 * fall due evenly over the same span; each shop's message box listens, and an
 * EVIDENCE_EXPIRED event's lateness is its arrival minus the round's dueAt.
 */
export async function precision(ctx: BenchContext): Promise<Figure[]> {
  const shops = ctx.quick ? 10 : 100;
  const perShop = ctx.quick ? 5 : 10;
  const spreadMs = ctx.quick ? 2_000 : 10_000;
  const windowMs = ctx.quick ? 2_000 : 10_000;
  const store = await ctx.store('precision');
  const { afterSaleIds } = await seedShops(store.target, { shops, perShop, now: Date.now() });
  const env = serviceEnv(ctx, store, { EVIDENCE_WINDOW: `${windowMs}ms`, REMINDER_LEAD: `${windowMs / 2}ms` });
  const service = spawnChild('service.ts', env, 'service-precision');
  let boxes: Box[] = [];
  try {
    const url = (await service.event<{ url: string }>('ready')).url;
    const tokens = await Promise.all(Array.from({ length: shops }, (_, m) => ctx.auth.sign({ role: 'merchant', sub: `${shopId(m)}-staff`, merchantId: shopId(m) })));
    const platform = await ctx.auth.sign({ role: 'platform', sub: 'bench-agent' });
    const dueAt = new Map<string, number>();
    const expiredLateness: number[] = [];
    const reminderLateness: number[] = [];
    const early: string[] = [];
    boxes = await openBoxes(`${url.replace('http', 'ws')}/graphql`, tokens, (_i, e: BoxEvent) => {
      const due = dueAt.get(e.message.afterSale.id);
      if (due === undefined) return;
      if (e.message.kind === 'EVIDENCE_EXPIRED') expiredLateness.push(e.receivedAt - due);
      if (e.message.kind === 'EVIDENCE_DUE_SOON') reminderLateness.push(e.receivedAt - (due - windowMs / 2));
      if (e.message.kind === 'EVIDENCE_EXPIRED' && e.receivedAt < due) early.push(e.message.afterSale.id);
    });

    const ids = [...afterSaleIds.values()].flat();
    const started = Date.now();
    const gap = spreadMs / ids.length;
    await Promise.all(
      ids.map(async (id, i) => {
        await sleep(Math.max(0, started + i * gap - Date.now()));
        const data = await gql(url, platform, REQUEST_EVIDENCE, { input: { afterSaleId: gid('AfterSale', id), instructions: 'Photos, please' } });
        const round = data.requestEvidence.evidenceRequest;
        if (!round) throw new Error(`requestEvidence failed: ${JSON.stringify(data)}`);
        dueAt.set(gid('AfterSale', id), Date.parse(round.dueAt));
      }),
    );
    const lastDue = Math.max(...dueAt.values());
    while (expiredLateness.length < ids.length && Date.now() < lastDue + 10_000) await sleep(50);
    if (expiredLateness.length < ids.length) throw new Error(`only ${expiredLateness.length} of ${ids.length} expiries arrived`);
    if (early.length) throw new Error(`${early.length} rounds expired before their dueAt`);
    const p99 = percentile(expiredLateness, 99);
    ctx.log(`${ids.length} expiries: p50 ${percentile(expiredLateness, 50)} ms, p99 ${p99} ms, max ${Math.max(...expiredLateness)} ms; reminders p99 ${percentile(reminderLateness, 99)} ms`);
    return [
      { key: 'precision.expiryP99', label: `Deadline precision: ${ids.length} expiries over ${spreadMs / 1000} s, p99 lateness`, value: p99, unit: 'ms', target: { op: '<', value: 250 } },
      { key: 'precision.expiryMax', label: 'Deadline precision: latest expiry event', value: Math.max(...expiredLateness), unit: 'ms' },
      { key: 'precision.reminderP99', label: 'Deadline precision: reminder events, p99 lateness', value: percentile(reminderLateness, 99), unit: 'ms' },
    ];
  } finally {
    await closeBoxes(boxes);
    await service.stop();
  }
}
