import { and, eq } from 'drizzle-orm';
import { isoString } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { InvalidStateError, NotFoundError } from '../db/errors.ts';
import { discardDrafts } from '../db/drafts.ts';
import { appendLog, type Actor } from '../db/logs.ts';
import { createMessage } from '../db/messages.ts';
import { closeRound, countOpened, isOpen, loadAfterSale, resolveAfterSale, sendReminder, setAfterSaleStatus, type DeadlineSettings } from '../db/rounds.ts';
import type { AfterSaleRow, EvidenceRequestRow, Outcome } from '../db/schema.ts';
import { cleanText, optionalText } from '../db/text.ts';

// The platform's steps on a round: ask for evidence, withdraw the request, rule. Each is one transaction.

/** Opens an evidence round on an after-sale the platform is handling. */
export async function requestEvidence(
  db: Db,
  input: { afterSaleId: number; instructions: string },
  actor: Actor,
  now: number,
  settings: DeadlineSettings & { maxInstructions: number },
): Promise<{ round: EvidenceRequestRow }> {
  const instructions = cleanText(input.instructions, 'instructions', 1, settings.maxInstructions);
  return db.write(async (tx) => {
    const { evidenceRequests } = tx.t;
    await tx.lockAfterSales([input.afterSaleId]);
    const afterSale = await loadAfterSale(tx, input.afterSaleId);
    if (afterSale.status !== 'PLATFORM_INTERVENING' && afterSale.status !== 'EVIDENCE_SUBMITTED') {
      throw new InvalidStateError(afterSale.status, `An after-sale in ${afterSale.status} cannot be asked for evidence`);
    }
    const dueAt = now + settings.evidenceWindowMs;
    // A window no longer than the lead is "due soon" from its first instant.
    const remindNow = settings.evidenceWindowMs <= settings.reminderLeadMs;
    const [round] = await tx.q
      .insert(evidenceRequests)
      .values({
        afterSaleId: afterSale.id,
        merchantId: afterSale.merchantId,
        instructions,
        requestedBy: actor.id ?? 'platform',
        requestedAt: now,
        dueAt,
        status: 'OPEN',
        remindedAt: remindNow ? now : null,
      })
      .returning();
    await setAfterSaleStatus(tx, afterSale.id, 'AWAITING_MERCHANT_EVIDENCE');
    await appendLog(tx, {
      afterSaleId: afterSale.id,
      at: now,
      actor,
      action: 'EVIDENCE_REQUESTED',
      summary: `Platform asked the merchant for evidence, due ${isoString(dueAt)}`,
    });
    await createMessage(tx, {
      merchantId: afterSale.merchantId,
      afterSaleId: afterSale.id,
      kind: 'EVIDENCE_REQUESTED',
      title: '平台请您举证 Evidence requested',
      body: `售后单 ${afterSale.number} 已由平台介入，请于 ${isoString(dueAt)} 前提交举证。举证说明：${instructions}`,
      at: now,
    });
    await countOpened(tx, [round!], 1);
    tx.changes!.roundsChanged = true;
    if (remindNow) await sendReminder(tx, round!, afterSale, now);
    return { round: round! };
  });
}

async function openRoundOf(tx: Db, afterSaleId: number): Promise<EvidenceRequestRow | undefined> {
  const { evidenceRequests } = tx.t;
  const [round] = await tx.q
    .select()
    .from(evidenceRequests)
    .where(and(eq(evidenceRequests.afterSaleId, afterSaleId), isOpen(evidenceRequests)));
  return round;
}

async function cancelRound(tx: Db, round: EvidenceRequestRow, actor: Actor, now: number, why: string): Promise<void> {
  await closeRound(tx, round, 'CANCELLED', now);
  await discardDrafts(tx, [round.id]);
  await appendLog(tx, { afterSaleId: round.afterSaleId, at: now, actor, action: 'EVIDENCE_REQUEST_CANCELLED', summary: why });
  tx.changes!.roundsChanged = true;
}

/** The round and its after-sale, the after-sale locked first (the one lock order), then the round read under it. */
async function lockedRound(tx: Db, requestId: number): Promise<{ round: EvidenceRequestRow; afterSale: AfterSaleRow }> {
  const { evidenceRequests } = tx.t;
  const [ref] = await tx.q.select({ afterSaleId: evidenceRequests.afterSaleId }).from(evidenceRequests).where(eq(evidenceRequests.id, requestId));
  if (!ref) throw new NotFoundError('evidence request');
  await tx.lockAfterSales([ref.afterSaleId]);
  const [round] = await tx.q.select().from(evidenceRequests).where(eq(evidenceRequests.id, requestId));
  return { round: round!, afterSale: await loadAfterSale(tx, ref.afterSaleId) };
}

/** The platform withdraws an open round; the after-sale goes back to PLATFORM_INTERVENING. */
export async function cancelEvidenceRequest(db: Db, requestId: number, actor: Actor, now: number): Promise<{ round: EvidenceRequestRow }> {
  return db.write(async (tx) => {
    const { round, afterSale } = await lockedRound(tx, requestId);
    if (round.status !== 'OPEN') {
      throw new InvalidStateError(afterSale.status, `This evidence request is ${round.status} and cannot be cancelled`);
    }
    await cancelRound(tx, round, actor, now, 'Platform cancelled the evidence request');
    await setAfterSaleStatus(tx, afterSale.id, 'PLATFORM_INTERVENING');
    return { round: { ...round, status: 'CANCELLED' as const, closedAt: now } };
  });
}

/** The platform rules. An open round is cancelled first; a resolved after-sale takes no further step. */
export async function resolveArbitration(
  db: Db,
  input: { afterSaleId: number; outcome: Outcome; opinion?: string | null },
  actor: Actor,
  now: number,
): Promise<{ afterSale: AfterSaleRow }> {
  const opinion = optionalText(input.opinion, 'opinion', 2000);
  return db.write(async (tx) => {
    await tx.lockAfterSales([input.afterSaleId]);
    const afterSale = await loadAfterSale(tx, input.afterSaleId);
    if (afterSale.status === 'RESOLVED') throw new InvalidStateError('RESOLVED', 'This after-sale is already resolved');
    const open = await openRoundOf(tx, afterSale.id);
    if (open) await cancelRound(tx, open, actor, now, 'Evidence request cancelled: the platform ruled');
    await resolveAfterSale(tx, afterSale, { outcome: input.outcome, decidedBy: 'PLATFORM', opinion }, actor, now);
    const verdict = input.outcome === 'BUYER_FAVORED' ? '支持买家 buyer favoured' : '支持商家 merchant favoured';
    await createMessage(tx, {
      merchantId: afterSale.merchantId,
      afterSaleId: afterSale.id,
      kind: 'ARBITRATION_RESOLVED',
      title: '平台已判定 Arbitration resolved',
      body: `售后单 ${afterSale.number} 平台判定：${verdict}。${opinion ?? ''}`.trim(),
      at: now,
    });
    return { afterSale: await loadAfterSale(tx, afterSale.id) };
  });
}
