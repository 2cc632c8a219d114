import { and, asc, eq, gt, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { writeTransaction } from './client.ts';
import { noChanges, type Changes } from './changes.ts';
import { appendLog, SYSTEM } from './logs.ts';
import { createMessage } from './messages.ts';
import { prepared, value } from './prepared.ts';
import { iso, isReminderDue, loadAfterSale, resolveAfterSale, sendReminder } from './rounds.ts';
import { afterSales, evidenceRequests, type AfterSaleRow, type EvidenceRequestRow } from './schema.ts';

// The scheduler's side: claims are conditional updates, so two schedulers, or
// a crash halfway, never send twice and never lose one. The SQL conditions
// (due_at <= now, due_at < now + lead) are isPastDeadline and isReminderDue.

/** What expiring a round reads: the round's id and deadline, its after-sale's fixed fields. */
type DueRound = { round: Pick<EvidenceRequestRow, 'id' | 'dueAt'>; afterSale: Pick<AfterSaleRow, 'id' | 'merchantId' | 'number'> };

/** Expires one open, past-due round and decides for the buyer. False if someone else got there first. */
function expireRound(tx: Db, changes: Changes, { round, afterSale }: DueRound, now: number): boolean {
  const claim = prepared(tx, 'deadlines.claimExpiry', () =>
    tx
      .update(evidenceRequests)
      .set({ status: 'EXPIRED', closedAt: value('now') })
      .where(and(eq(evidenceRequests.id, sql.placeholder('id')), eq(evidenceRequests.status, 'OPEN'), lte(evidenceRequests.dueAt, sql.placeholder('now'))))
      .prepare(),
  );
  if (claim.run({ id: round.id, now }).changes !== 1) return false;
  appendLog(tx, changes, {
    afterSaleId: afterSale.id,
    at: now,
    actor: SYSTEM,
    action: 'EVIDENCE_EXPIRED',
    summary: `No evidence arrived by ${iso(round.dueAt)}`,
  });
  resolveAfterSale(tx, changes, afterSale, { outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT', opinion: null }, SYSTEM, now);
  createMessage(tx, changes, {
    merchantId: afterSale.merchantId,
    afterSaleId: afterSale.id,
    kind: 'EVIDENCE_EXPIRED',
    title: '举证已超时 Evidence expired',
    body: `售后单 ${afterSale.number} 未在 ${iso(round.dueAt)} 前举证，系统已默认支持买家。`,
    at: now,
  });
  changes.roundsChanged = true;
  return true;
}

/** Expires up to `limit` past-due rounds in one transaction; each claim is a conditional update. */
export function expireDueRequests(db: Db, now: number, limit: number): { count: number; dueAts: number[]; changes: Changes } {
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    // The after-sales come with their rounds: one statement per batch instead of one per round.
    const select = prepared(tx, 'deadlines.dueExpiries', () =>
      tx
        .select({
          round: { id: evidenceRequests.id, dueAt: evidenceRequests.dueAt },
          afterSale: { id: afterSales.id, merchantId: afterSales.merchantId, number: afterSales.number },
        })
        .from(evidenceRequests)
        .innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId))
        .where(and(eq(evidenceRequests.status, 'OPEN'), lte(evidenceRequests.dueAt, sql.placeholder('now'))))
        .orderBy(asc(evidenceRequests.dueAt))
        .limit(sql.placeholder('limit'))
        .prepare(),
    );
    const dueAts: number[] = [];
    for (const due of select.all({ now, limit })) if (expireRound(tx, changes, due, now)) dueAts.push(due.round.dueAt);
    return { count: dueAts.length, dueAts, changes };
  });
}

/** Sends up to `limit` due reminders in one transaction; never to a round already past its deadline. */
export function remindDueRequests(db: Db, now: number, leadMs: number, limit: number): { count: number; changes: Changes } {
  return writeTransaction(db, (tx) => {
    const changes = noChanges();
    const select = prepared(tx, 'deadlines.dueReminders', () =>
      tx
        .select()
        .from(evidenceRequests)
        .where(
          and(
            eq(evidenceRequests.status, 'OPEN'),
            isNull(evidenceRequests.remindedAt),
            lt(evidenceRequests.dueAt, sql.placeholder('remindBefore')),
            gt(evidenceRequests.dueAt, sql.placeholder('now')),
          ),
        )
        .orderBy(asc(evidenceRequests.dueAt))
        .limit(sql.placeholder('limit'))
        .prepare(),
    );
    const claim = prepared(tx, 'deadlines.claimReminder', () =>
      tx
        .update(evidenceRequests)
        .set({ remindedAt: value('now') })
        .where(and(eq(evidenceRequests.id, sql.placeholder('id')), eq(evidenceRequests.status, 'OPEN'), isNull(evidenceRequests.remindedAt)))
        .prepare(),
    );
    let count = 0;
    for (const round of select.all({ now, remindBefore: now + leadMs, limit })) {
      if (!isReminderDue(round.dueAt, now, leadMs)) continue;
      if (claim.run({ id: round.id, now }).changes !== 1) continue;
      sendReminder(tx, changes, round, loadAfterSale(tx, round.afterSaleId), now);
      count++;
    }
    return { count, changes };
  });
}

/** The next instant at which a reminder or an expiry falls due, or null when no round is open. */
export function nextDeadlineInstant(db: Db, leadMs: number): number | null {
  const { expiry, reminder } = prepared(db, 'deadlines.next', () => ({
    expiry: db
      .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})` })
      .from(evidenceRequests)
      .where(eq(evidenceRequests.status, 'OPEN'))
      .prepare(),
    reminder: db
      .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})` })
      .from(evidenceRequests)
      .where(and(eq(evidenceRequests.status, 'OPEN'), isNull(evidenceRequests.remindedAt)))
      .prepare(),
  }));
  const expiryAt = expiry.get()?.at;
  const reminderAt = reminder.get()?.at;
  const instants = [expiryAt, reminderAt == null ? null : reminderAt - leadMs + 1].filter((v): v is number => v != null);
  return instants.length ? Math.min(...instants) : null;
}
