import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import type { Changes } from './changes.ts';
import { NotFoundError } from './errors.ts';
import { appendLog, SYSTEM, type Actor } from './logs.ts';
import { createMessage } from './messages.ts';
import { prepared, value } from './prepared.ts';
import { afterSales, evidenceRequests, type AfterSaleRow, type EvidenceRequestRow, type Outcome } from './schema.ts';

// The rules every evidence round follows, shared by the platform's steps, the
// merchant's submission and the deadline scheduler.

export interface DeadlineSettings {
  evidenceWindowMs: number;
  reminderLeadMs: number;
}

/** The one rule for "too late": a round takes evidence only strictly before its dueAt. */
export function isPastDeadline(dueAt: number, now: number): boolean {
  return now >= dueAt;
}

/** The one rule for "remind now": less than the lead is left, and the deadline has not passed. */
export function isReminderDue(dueAt: number, now: number, leadMs: number): boolean {
  return dueAt - now < leadMs && !isPastDeadline(dueAt, now);
}

export function secondsRemaining(round: EvidenceRequestRow, now: number): number {
  if (round.status !== 'OPEN') return 0;
  return Math.max(0, Math.floor((round.dueAt - now) / 1000));
}

export const iso = (ms: number) => new Date(ms).toISOString();

export function loadAfterSale(tx: Db, id: number): AfterSaleRow {
  const select = prepared(tx, 'rounds.afterSale', () =>
    tx.select().from(afterSales).where(eq(afterSales.id, sql.placeholder('id'))).prepare(),
  );
  const row = select.get({ id });
  if (!row) throw new NotFoundError('after-sale');
  return row;
}

export function setAfterSaleStatus(tx: Db, id: number, status: AfterSaleRow['status']): void {
  const update = prepared(tx, 'rounds.setStatus', () =>
    tx.update(afterSales).set({ status: value('status') }).where(eq(afterSales.id, sql.placeholder('id'))).prepare(),
  );
  update.run({ id, status });
}

export function sendReminder(tx: Db, changes: Changes, round: EvidenceRequestRow, afterSale: AfterSaleRow, now: number): void {
  const hours = Math.max(0, (round.dueAt - now) / 3_600_000);
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor: SYSTEM,
    action: 'EVIDENCE_REMINDER_SENT',
    summary: `Reminded the merchant: evidence is due at ${iso(round.dueAt)}`,
  });
  createMessage(tx, changes, {
    merchantId: afterSale.merchantId,
    afterSaleId: afterSale.id,
    kind: 'EVIDENCE_DUE_SOON',
    title: '举证即将超时 Evidence due soon',
    body: `售后单 ${afterSale.number} 的举证将于 ${iso(round.dueAt)} 截止，剩余约 ${hours.toFixed(1)} 小时；逾期未举证，平台将默认支持买家。`,
    at: now,
  });
  changes.roundsChanged = true;
}

export function closeRound(tx: Db, round: EvidenceRequestRow, status: 'CANCELLED' | 'SUBMITTED' | 'EXPIRED', now: number): boolean {
  const update = prepared(tx, 'rounds.close', () =>
    tx
      .update(evidenceRequests)
      .set({ status: value('status'), closedAt: value('now') })
      .where(and(eq(evidenceRequests.id, sql.placeholder('id')), eq(evidenceRequests.status, 'OPEN')))
      .prepare(),
  );
  return update.run({ id: round.id, status, now }).changes === 1;
}

export function resolveAfterSale(
  tx: Db,
  changes: Changes,
  afterSale: Pick<AfterSaleRow, 'id'>,
  decision: { outcome: Outcome; decidedBy: 'PLATFORM' | 'SYSTEM_TIMEOUT'; opinion: string | null },
  actor: Actor,
  now: number,
): void {
  const update = prepared(tx, 'rounds.resolve', () =>
    tx
      .update(afterSales)
      .set({ status: 'RESOLVED', outcome: value('outcome'), decidedBy: value('decidedBy'), decidedAt: value('now'), opinion: value('opinion') })
      .where(eq(afterSales.id, sql.placeholder('id')))
      .prepare(),
  );
  update.run({ ...decision, now, id: afterSale.id });
  const forWhom = decision.outcome === 'BUYER_FAVORED' ? 'the buyer' : 'the merchant';
  const how = decision.decidedBy === 'SYSTEM_TIMEOUT' ? 'no evidence arrived in time' : 'platform ruling';
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor,
    action: 'ARBITRATION_RESOLVED',
    summary: `Resolved in favour of ${forWhom} (${how})${decision.opinion ? `: ${decision.opinion}` : ''}`,
  });
}
