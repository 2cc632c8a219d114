import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { recordAfterSale } from '../db/after-sales.ts';
import type { Db } from '../db/database.ts';
import { requestEvidence, resolveArbitration } from '../cases/rounds.ts';
import { commitSubmission } from '../db/submissions.ts';
import type { Actor } from '../db/logs.ts';
import type { AfterSaleType } from '../db/schema.ts';
import type { FileStore, ReceivedFile } from '../storage/file-store.ts';
import { fingerprintOf } from '../cases/submit-evidence.ts';

/** Sample evidence files that ship with the service for the demo (never read from test/). */
const DEMO_FILES = fileURLToPath(new URL('./files/', import.meta.url));
const HOUR = 3_600_000;
const AGENT: Actor = { kind: 'PLATFORM', id: 'agent-demo' };

export const DEMO_MERCHANTS = ['shop-1001', 'shop-2002'] as const;

interface DemoCase {
  type: AfterSaleType;
  reason: string;
  claim: string;
  amountCents: number;
  /** How long ago the platform asked for evidence; null: never asked. */
  askedHoursAgo: number | null;
  then?: 'submit' | 'resolve';
}

const CASES: DemoCase[] = [
  { type: 'REFUND_ONLY', reason: '商品破损 Damaged on arrival', claim: '收到时外包装破损，杯子碎了。The mug arrived broken.', amountCents: 8900, askedHoursAgo: 1 },
  { type: 'RETURN_AND_REFUND', reason: '与描述不符 Not as described', claim: '颜色和图片不一样。The colour differs from the photos.', amountCents: 15900, askedHoursAgo: 6 },
  { type: 'REFUND_ONLY', reason: '未收到货 Not received', claim: '物流显示签收但我没收到。Tracking says delivered, nothing arrived.', amountCents: 4500, askedHoursAgo: 14 },
  { type: 'EXCHANGE', reason: '尺码不合适 Wrong size', claim: '发错尺码。Sent the wrong size.', amountCents: 12900, askedHoursAgo: 21 },
  { type: 'RETURN_AND_REFUND', reason: '质量问题 Quality problem', claim: '用了两天就坏了。Broke after two days.', amountCents: 29900, askedHoursAgo: 2, then: 'submit' },
  { type: 'REFUND_ONLY', reason: '少件 Missing items', claim: '少发了一件。One item missing.', amountCents: 3900, askedHoursAgo: 30 },
  { type: 'REFUND_ONLY', reason: '商品破损 Damaged on arrival', claim: '屏幕有裂痕。Cracked screen.', amountCents: 99900, askedHoursAgo: 3, then: 'resolve' },
  { type: 'RETURN_AND_REFUND', reason: '七天无理由 No-reason return', claim: '商家拒绝退货。The shop refused the return.', amountCents: 6900, askedHoursAgo: null },
];

/**
 * Demo data for an empty database outside production: two shops with
 * after-sales in every state, built through the same rules the API uses
 * (deadlines spread out, one submitted with real files, one resolved; one
 * past due, which the scheduler expires at start).
 */
export async function seedDemo(db: Db, store: FileStore, config: Config, now: number): Promise<number> {
  let count = 0;
  for (const [shopIndex, merchantId] of DEMO_MERCHANTS.entries()) {
    for (const [i, c] of CASES.entries()) {
      const number = `AS${2026112600 + shopIndex * 100 + i}`;
      const { afterSale } = await recordAfterSale(
        db,
        {
          merchantId,
          number,
          orderNumber: `OD${88000000 + shopIndex * 1000 + i * 7}`,
          type: c.type,
          reason: c.reason,
          buyerClaim: c.claim,
          amountCents: c.amountCents,
          appliedAt: new Date(now - 48 * HOUR + i * HOUR),
        },
        AGENT,
        now - 36 * HOUR,
      );
      count++;
      if (c.askedHoursAgo == null) continue;
      const askedAt = now - c.askedHoursAgo * HOUR;
      const { round } = await requestEvidence(
        db,
        { afterSaleId: afterSale.id, instructions: '请提供发货前商品完好的照片、物流面单和开箱视频。Please send photos of the goods before shipping, the waybill and any unboxing video.' },
        AGENT,
        askedAt,
        { evidenceWindowMs: config.evidenceWindowMs, reminderLeadMs: config.reminderLeadMs, maxInstructions: config.limits.maxInstructions },
      );
      if (c.then === 'submit') await submitDemoEvidence(db, store, config, merchantId, round.id, askedAt + HOUR);
      if (c.then === 'resolve') {
        await resolveArbitration(db, { afterSaleId: afterSale.id, outcome: 'MERCHANT_FAVORED', opinion: '商家举证充分。The merchant\'s evidence is convincing.' }, AGENT, askedAt + 2 * HOUR);
      }
    }
  }
  return count;
}

async function submitDemoEvidence(db: Db, store: FileStore, config: Config, merchantId: string, requestId: number, at: number) {
  const explanation = '发货前已拍照确认完好，物流面单显示已签收，开箱视频无破损。Photographed intact before shipping; the waybill shows delivery.';
  const budget = { remaining: config.limits.maxTotalBytes };
  const files: ReceivedFile[] = [];
  for (const name of ['parcel-photo.jpg', 'waybill.pdf', 'unboxing.mp4']) {
    files.push(await store.receive(fs.createReadStream(path.join(DEMO_FILES, name)), name, config.limits, budget));
  }
  await commitSubmission(
    db,
    {
      merchantId,
      staffId: `${merchantId}-staff`,
      requestId,
      explanation,
      files,
      stagedFileIds: [],
      idempotencyKey: null,
      fingerprint: fingerprintOf(requestId, explanation, files),
      maxTotalBytes: config.limits.maxTotalBytes,
    },
    { now: () => at },
    async () => store.place(files),
  );
}
