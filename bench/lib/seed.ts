import { bulkLoad, type Bulk, type Table } from './bulk.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const BENCH_SHOP = 'shop-bench';
export const shopId = (n: number) => `shop-${String(n).padStart(4, '0')}`;

const TYPES = ['REFUND_ONLY', 'RETURN_AND_REFUND', 'EXCHANGE'] as const;
const REASONS = ['商品破损 Damaged on arrival', '与描述不符 Not as described', '未收到货 Not received', '尺码不合适 Wrong size', '质量问题 Quality problem'];
const CLAIMS = [
  '收到时外包装破损，杯子碎了。The mug arrived broken and the box was crushed.',
  '颜色和图片不一样。The colour differs from the photos on the product page.',
  '物流显示签收但我没收到。Tracking says delivered, but nothing arrived at my door.',
];
const INSTRUCTIONS = '请提供发货前的商品照片、快递面单和开箱视频。Send photos of the goods before shipping, the waybill and an unboxing video.';

/** A small deterministic generator, so every run seeds the same data. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A deadline `from + share of span`, rising with the id give or take a minute:
 * rounds are opened in id order with one window, so they fall due in about
 * that order too (which keeps a catch-up's writes near each other on disk).
 */
function deadline(id: number, total: number, from: number, span: number, rnd: () => number): number {
  return from + Math.floor((id / total) * span) - Math.floor(rnd() * 60_000);
}
const hex64 = (n: number) => n.toString(16).padStart(64, '0');

class Ids {
  round = 0;
  submission = 0;
  file = 0;
  log = 0;
  message = 0;
}

function afterSale(t: Record<Table, Bulk>, id: number, merchantId: string, status: string, appliedAt: number, resolvedAt: number | null): void {
  t.after_sales.push(
    id, merchantId, `AS${String(id).padStart(10, '0')}`, `OD${String(id * 7).padStart(12, '0')}`, TYPES[id % 3], REASONS[id % REASONS.length],
    CLAIMS[id % CLAIMS.length], 1000 + (id % 50_000), status, appliedAt, appliedAt,
    resolvedAt == null ? null : 'BUYER_FAVORED', resolvedAt == null ? null : 'SYSTEM_TIMEOUT', resolvedAt, null,
  );
}

function round(t: Record<Table, Bulk>, ids: Ids, afterSaleId: number, merchantId: string, r: { requestedAt: number; dueAt: number; status: string; remindedAt: number | null; closedAt: number | null }): number {
  const id = ++ids.round;
  t.evidence_requests.push(id, afterSaleId, merchantId, INSTRUCTIONS, 'agent-7', r.requestedAt, r.dueAt, r.status, r.remindedAt, r.closedAt);
  return id;
}

function submission(t: Record<Table, Bulk>, ids: Ids, roundId: number, afterSaleId: number, merchantId: string, at: number, files: number): void {
  const id = ++ids.submission;
  t.evidence_submissions.push(id, roundId, afterSaleId, merchantId, '我们发货时商品完好，附发货前照片和面单。We shipped it intact; photos and waybill attached.', `${merchantId}-staff`, at, null, hex64(id));
  for (let p = 0; p < files; p++) {
    const fileId = ++ids.file;
    const video = p === 2;
    t.evidence_files.push(fileId, id, merchantId, p, video ? `unboxing-${fileId}.mp4` : `parcel-photo-${fileId}.jpg`, video ? 'video/mp4' : 'image/jpeg', video ? 15_258_000 : 23_566, hex64(fileId * 31 + 7));
  }
}

const LOG_LINES: [actor: string, actorId: string | null, action: string, summary: (n: string) => string][] = [
  ['BUYER', null, 'APPLIED', () => 'Buyer applied for refund only: 商品破损 Damaged on arrival'],
  ['PLATFORM', 'agent-7', 'PLATFORM_INTERVENED', () => 'Buyer escalated; the platform is intervening'],
  ['PLATFORM', 'agent-7', 'EVIDENCE_REQUESTED', (d) => `Platform asked the merchant for evidence, due ${d}`],
  ['SYSTEM', 'deadline-scheduler', 'EVIDENCE_REMINDER_SENT', (d) => `Reminded the merchant: evidence is due at ${d}`],
  ['MERCHANT', 'shop-staff', 'EVIDENCE_SUBMITTED', () => 'Merchant submitted evidence with 2 file(s): parcel-photo.jpg (image/jpeg, 23566 bytes, sha256 a89f7d3f910b99e9037900242aecca60fd0d00774ea17f28954af45275f05b72); waybill.pdf (application/pdf, 377 bytes)'],
];

function logs(t: Record<Table, Bulk>, ids: Ids, afterSaleId: number, from: number, count: number): void {
  for (let k = 0; k < count; k++) {
    const [actor, actorId, action, summary] = LOG_LINES[k % LOG_LINES.length]!;
    const at = from + k * 60_000;
    t.after_sale_logs.push(++ids.log, afterSaleId, at, actor, actorId, action, summary(iso(at + DAY)));
  }
}

function merchants(t: Record<Table, Bulk>, shops: number, now: number): void {
  t.merchants.push(BENCH_SHOP, BENCH_SHOP, now - 400 * DAY);
  for (let m = 0; m < shops; m++) t.merchants.push(shopId(m), shopId(m), now - 400 * DAY);
}

/**
 * The workbench database: `afterSales` after-sales over `shops` shops, one in
 * ten belonging to the bench shop, about half awaiting evidence (a third of
 * those on their second round, the first one answered with files), and
 * `logsPerAfterSale` log lines each. No round is due or needs a reminder
 * within the next hour, so starting the service writes nothing.
 */
export async function seedWorkbench(target: string, opts: { afterSales: number; logsPerAfterSale: number; shops: number; now: number }): Promise<void> {
  const { now } = opts;
  const rnd = random(1);
  await bulkLoad(target, (t) => {
    const ids = new Ids();
    merchants(t, opts.shops, now);
    for (let id = 1; id <= opts.afterSales; id++) {
      const merchantId = id % 10 === 0 ? BENCH_SHOP : shopId(id % opts.shops);
      const appliedAt = now - 2 * DAY - Math.floor(rnd() * 30 * DAY);
      const kind = Math.floor(rnd() * 10);
      const requestedAt = appliedAt + HOUR;
      if (kind < 5) {
        if (id % 3 === 0) {
          const first = round(t, ids, id, merchantId, { requestedAt, dueAt: requestedAt + DAY, status: 'SUBMITTED', remindedAt: null, closedAt: requestedAt + 2 * HOUR });
          submission(t, ids, first, id, merchantId, requestedAt + 2 * HOUR, 1 + (id % 3));
        }
        const dueAt = deadline(id, opts.afterSales, now + 2 * HOUR, 21 * HOUR, rnd);
        const remindedAt = dueAt - now < 12 * HOUR + HOUR ? now - HOUR : null;
        round(t, ids, id, merchantId, { requestedAt: dueAt - DAY, dueAt, status: 'OPEN', remindedAt, closedAt: null });
        afterSale(t, id, merchantId, 'AWAITING_MERCHANT_EVIDENCE', appliedAt, null);
      } else if (kind < 7) {
        const r = round(t, ids, id, merchantId, { requestedAt, dueAt: requestedAt + DAY, status: 'SUBMITTED', remindedAt: null, closedAt: requestedAt + 3 * HOUR });
        submission(t, ids, r, id, merchantId, requestedAt + 3 * HOUR, 1 + (id % 3));
        afterSale(t, id, merchantId, 'EVIDENCE_SUBMITTED', appliedAt, null);
      } else if (kind < 8) {
        afterSale(t, id, merchantId, 'PLATFORM_INTERVENING', appliedAt, null);
      } else {
        round(t, ids, id, merchantId, { requestedAt, dueAt: requestedAt + DAY, status: 'EXPIRED', remindedAt: requestedAt + 12 * HOUR, closedAt: requestedAt + DAY });
        afterSale(t, id, merchantId, 'RESOLVED', appliedAt, requestedAt + DAY);
      }
      logs(t, ids, id, appliedAt, opts.logsPerAfterSale);
    }
  });
}

/**
 * The deadline database: `rounds` rounds in all, five per after-sale (four
 * cancelled ones, then the current one). `due` after-sales have an OPEN round
 * whose deadline passed while the service was down; one after-sale in ten of
 * the rest belongs to the bench shop and waits for evidence (not due), the
 * others are resolved. Reminders that were due went out before the downtime.
 */
export async function seedDeadlines(target: string, opts: { rounds: number; due: number; shops: number; now: number }): Promise<void> {
  const { now } = opts;
  const rnd = random(2);
  const afterSales = Math.ceil(opts.rounds / 5);
  await bulkLoad(target, (t) => {
    const ids = new Ids();
    merchants(t, opts.shops, now);
    for (let id = 1; id <= afterSales; id++) {
      // Spreads the due ones evenly through the id range.
      const due = Math.floor((id * opts.due) / afterSales) > Math.floor(((id - 1) * opts.due) / afterSales);
      const bench = !due && id % 10 === 1;
      const merchantId = bench ? BENCH_SHOP : shopId(id % opts.shops);
      const appliedAt = now - 3 * DAY - Math.floor(rnd() * 30 * DAY);
      for (let k = 0; k < 4; k++) {
        const requestedAt = appliedAt + k * HOUR;
        round(t, ids, id, merchantId, { requestedAt, dueAt: requestedAt + DAY, status: 'CANCELLED', remindedAt: null, closedAt: requestedAt + 30 * 60_000 });
      }
      if (due) {
        const dueAt = deadline(id, afterSales, now - 2 * HOUR, 2 * HOUR - 1000, rnd);
        round(t, ids, id, merchantId, { requestedAt: dueAt - DAY, dueAt, status: 'OPEN', remindedAt: dueAt - 12 * HOUR, closedAt: null });
        afterSale(t, id, merchantId, 'AWAITING_MERCHANT_EVIDENCE', appliedAt, null);
      } else if (bench) {
        const dueAt = deadline(id, afterSales, now + 2 * HOUR, 21 * HOUR, rnd);
        const remindedAt = dueAt - now < 12 * HOUR + HOUR ? now - HOUR : null;
        round(t, ids, id, merchantId, { requestedAt: dueAt - DAY, dueAt, status: 'OPEN', remindedAt, closedAt: null });
        afterSale(t, id, merchantId, 'AWAITING_MERCHANT_EVIDENCE', appliedAt, null);
      } else {
        const requestedAt = appliedAt + 5 * HOUR;
        round(t, ids, id, merchantId, { requestedAt, dueAt: requestedAt + DAY, status: 'EXPIRED', remindedAt: requestedAt + 12 * HOUR, closedAt: requestedAt + DAY });
        afterSale(t, id, merchantId, 'RESOLVED', appliedAt, requestedAt + DAY);
      }
      logs(t, ids, id, appliedAt, 3);
    }
  });
}

/**
 * Shops for the socket benchmarks: each has `perShop` after-sales the platform
 * is handling (ready for requestEvidence) and one old, read message, which a
 * subscription with `after` set before it replays to show it is live.
 */
export async function seedShops(target: string, opts: { shops: number; perShop: number; now: number }): Promise<{ afterSaleIds: Map<string, number[]> }> {
  const afterSaleIds = new Map<string, number[]>();
  await bulkLoad(target, (t) => {
    const ids = new Ids();
    for (let m = 0; m < opts.shops; m++) t.merchants.push(shopId(m), shopId(m), opts.now - DAY);
    let id = 0;
    for (let m = 0; m < opts.shops; m++) {
      const list: number[] = [];
      for (let k = 0; k < opts.perShop; k++) {
        afterSale(t, ++id, shopId(m), 'PLATFORM_INTERVENING', opts.now - DAY, null);
        logs(t, ids, id, opts.now - DAY, 2);
        list.push(id);
      }
      afterSaleIds.set(shopId(m), list);
      t.messages.push(++ids.message, shopId(m), list[0], 'ARBITRATION_RESOLVED', '平台已判定 Arbitration resolved', `售后单 AS${list[0]} 平台判定：支持商家 merchant favoured。`, opts.now - DAY, opts.now - DAY);
    }
  });
  return { afterSaleIds };
}
