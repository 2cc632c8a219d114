import { and, eq, sql } from 'drizzle-orm';
import { isoString } from '../clock.ts';
import type { Db } from './database.ts';
import { NotFoundError } from './errors.ts';
import { appendLog, SYSTEM, type Actor } from './logs.ts';
import { createMessage } from './messages.ts';
import type { AfterSaleRow, EvidenceRequestRow, Outcome, Tables } from './schema.ts';

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

/**
 * `status = 'OPEN'` with the word in the SQL text, not a bound value: the
 * partial indexes on open rounds then match every plan PostgreSQL makes,
 * including the generic plans it switches prepared statements to.
 */
export const isOpen = (rounds: Tables['evidenceRequests']) => sql`${rounds.status} = 'OPEN'`;

/** A placeholder where drizzle's types want an SQL value (UPDATE ... SET). */
export const value = (name: string) => sql`${sql.placeholder(name)}`;

export async function loadAfterSale(tx: Db, id: number): Promise<AfterSaleRow> {
  const { afterSales } = tx.t;
  const select = tx.prepared('rounds.afterSale', () => tx.q.select().from(afterSales).where(eq(afterSales.id, sql.placeholder('id'))));
  const [row] = await select.execute({ id });
  if (!row) throw new NotFoundError('after-sale');
  return row;
}

export async function setAfterSaleStatus(tx: Db, id: number, status: AfterSaleRow['status']): Promise<void> {
  const { afterSales } = tx.t;
  const update = tx.prepared('rounds.setStatus', () =>
    tx.q.update(afterSales).set({ status: value('status') }).where(eq(afterSales.id, sql.placeholder('id'))),
  );
  await update.execute({ id, status });
}

type RemindedRound = { round: Pick<EvidenceRequestRow, 'dueAt'>; afterSale: Pick<AfterSaleRow, 'id' | 'merchantId' | 'number'> };

/** A reminder's log line and message: what sendReminder writes, and the scheduler for a batch. */
export function reminderLog({ round, afterSale }: RemindedRound, now: number) {
  return {
    afterSaleId: afterSale.id,
    at: now,
    actor: SYSTEM,
    action: 'EVIDENCE_REMINDER_SENT' as const,
    summary: `Reminded the merchant: evidence is due at ${isoString(round.dueAt)}`,
  };
}

export function reminderMessage({ round, afterSale }: RemindedRound, now: number) {
  const hours = Math.max(0, (round.dueAt - now) / 3_600_000);
  return {
    merchantId: afterSale.merchantId,
    afterSaleId: afterSale.id,
    kind: 'EVIDENCE_DUE_SOON' as const,
    title: '举证即将超时 Evidence due soon',
    body: `售后单 ${afterSale.number} 的举证将于 ${isoString(round.dueAt)} 截止，剩余约 ${hours.toFixed(1)} 小时；逾期未举证，平台将默认支持买家。`,
    at: now,
  };
}

export async function sendReminder(tx: Db, round: EvidenceRequestRow, afterSale: AfterSaleRow, now: number): Promise<void> {
  await appendLog(tx, reminderLog({ round, afterSale }, now));
  await createMessage(tx, reminderMessage({ round, afterSale }, now));
}

/**
 * Adds `change` (1: opened, -1: closed) for each of these rounds to its shop's count of OPEN rounds
 * (`merchants.open_rounds`, which the workbench's unfiltered totalCount reads), in one statement for any
 * number of rounds and shops. Called in the transaction that opened or closed them, after its message
 * boxes: a shop's count row is only written under its box lock, the last of the one lock order.
 */
export async function countOpened(tx: Db, rounds: readonly Pick<EvidenceRequestRow, 'merchantId'>[], change: 1 | -1): Promise<void> {
  if (rounds.length === 0) return;
  const byShop = new Map<string, number>();
  for (const { merchantId } of rounds) byShop.set(merchantId, (byShop.get(merchantId) ?? 0) + change);
  await tx.lockMessageBoxes([...byShop.keys()]);
  const { merchants } = tx.t;
  const update = tx.prepared('rounds.countOpened', () =>
    tx.q
      .update(merchants)
      .set({ openRounds: sql`${sql.identifier('open_rounds')} + counted.n` })
      .from(tx.countsRelation('counts'))
      .where(eq(merchants.id, sql`counted.key`)),
  );
  await update.execute({ counts: JSON.stringify([...byShop]) });
}

/** Closes a round that is still OPEN; false if it was closed already (the claim is conditional). */
export async function closeRound(tx: Db, round: EvidenceRequestRow, status: 'CANCELLED' | 'SUBMITTED' | 'EXPIRED', now: number): Promise<boolean> {
  const { evidenceRequests } = tx.t;
  const update = tx.prepared('rounds.close', () =>
    tx.q
      .update(evidenceRequests)
      .set({ status: value('status'), closedAt: value('now') })
      .where(and(eq(evidenceRequests.id, sql.placeholder('id')), isOpen(evidenceRequests)))
      .returning({ id: evidenceRequests.id }),
  );
  const closed = await update.execute({ id: round.id, status, now });
  if (closed.length === 1) await countOpened(tx, [round], -1);
  return closed.length === 1;
}

export async function resolveAfterSale(
  tx: Db,
  afterSale: Pick<AfterSaleRow, 'id'>,
  decision: { outcome: Outcome; decidedBy: 'PLATFORM' | 'SYSTEM_TIMEOUT'; opinion: string | null },
  actor: Actor,
  now: number,
): Promise<void> {
  const { afterSales } = tx.t;
  const update = tx.prepared('rounds.resolve', () =>
    tx.q
      .update(afterSales)
      .set({ status: 'RESOLVED', outcome: value('outcome'), decidedBy: value('decidedBy'), decidedAt: value('now'), opinion: value('opinion') })
      .where(eq(afterSales.id, sql.placeholder('id'))),
  );
  await update.execute({ ...decision, now, id: afterSale.id });
  await appendLog(tx, { afterSaleId: afterSale.id, at: now, actor, action: 'ARBITRATION_RESOLVED', summary: resolutionSummary(decision) });
}

/** The log line's words for a decision. */
export function resolutionSummary(decision: { outcome: Outcome; decidedBy: 'PLATFORM' | 'SYSTEM_TIMEOUT'; opinion: string | null }): string {
  const forWhom = decision.outcome === 'BUYER_FAVORED' ? 'the buyer' : 'the merchant';
  const how = decision.decidedBy === 'SYSTEM_TIMEOUT' ? 'no evidence arrived in time' : 'platform ruling';
  return `Resolved in favour of ${forWhom} (${how})${decision.opinion ? `: ${decision.opinion}` : ''}`;
}
