import { and, asc, eq, gt, isNull, lt, lte, sql, type SQL } from 'drizzle-orm';
import { isoString } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { discardDrafts } from '../db/drafts.ts';
import { appendLogs, SYSTEM } from '../db/logs.ts';
import { createMessages } from '../db/messages.ts';
import { countOpened, isOpen, isReminderDue, reminderLog, reminderMessage, resolutionSummary, value } from '../db/rounds.ts';
import type { AfterSaleRow, EvidenceRequestRow } from '../db/schema.ts';

// The scheduler's side: claims are conditional updates, so two schedulers, or
// a crash halfway, never send twice and never lose one. The SQL conditions
// (due_at <= now, due_at < now + lead) are isPastDeadline and isReminderDue.
// On PostgreSQL the candidates' after-sales are locked with SKIP LOCKED, so
// schedulers on several instances take different slices of one backlog.

/** What expiring a round or reminding of it reads: the round's id and deadline, its after-sale's fixed fields. */
type DueRound = { round: Pick<EvidenceRequestRow, 'id' | 'dueAt'>; afterSale: Pick<AfterSaleRow, 'id' | 'merchantId' | 'number'> };

/**
 * The batch's after-sales count as locked: the claim's read locked them (forClaim). Their message boxes
 * are locked after them, in the one lock order, by createMessages, just before the messages are
 * written: so a batch holds most shops' boxes only for that insert and its commit, and two batches of
 * one backlog on two connections (src/jobs/backlog.ts) overlap in everything before it.
 */
function claimed(tx: Db, batch: readonly { afterSale: Pick<AfterSaleRow, 'id'> }[]): void {
  tx.claimedAfterSales(batch.map((b) => b.afterSale.id));
}

/**
 * Expires the batch's open, past-due rounds and decides each for the buyer,
 * set-based: one conditional claim for all of them (a round someone else got
 * to first is not among the claimed), then the after-sales, the log lines and
 * the messages, each one statement for the whole batch.
 */
async function expireRounds(tx: Db, due: readonly DueRound[], now: number): Promise<DueRound[]> {
  if (due.length === 0) return [];
  const { afterSales, evidenceRequests } = tx.t;
  const claim = tx.prepared('deadlines.claimExpiries', () =>
    tx.q
      .update(evidenceRequests)
      .set({ status: 'EXPIRED', closedAt: value('now') })
      .where(and(tx.inIds(evidenceRequests.id, 'ids'), isOpen(evidenceRequests), lte(evidenceRequests.dueAt, sql.placeholder('now'))))
      .returning({ id: evidenceRequests.id }),
  );
  const claimed = await claim.execute({ ids: tx.ids(due.map((d) => d.round.id)), now });
  const ids = new Set(claimed.map((c) => c.id));
  const expired = due.filter((d) => ids.has(d.round.id));
  if (expired.length === 0) return [];
  const decision = { outcome: 'BUYER_FAVORED', decidedBy: 'SYSTEM_TIMEOUT', opinion: null } as const;
  const resolve = tx.prepared('deadlines.resolveExpired', () =>
    tx.q
      .update(afterSales)
      .set({ status: 'RESOLVED', outcome: decision.outcome, decidedBy: decision.decidedBy, decidedAt: value('now'), opinion: null })
      .where(tx.inIds(afterSales.id, 'ids')),
  );
  await resolve.execute({ ids: tx.ids(expired.map((d) => d.afterSale.id)), now });
  await appendLogs(
    tx,
    expired.flatMap(({ round, afterSale }) => [
      { afterSaleId: afterSale.id, at: now, actor: SYSTEM, action: 'EVIDENCE_EXPIRED' as const, summary: `No evidence arrived by ${isoString(round.dueAt)}` },
      { afterSaleId: afterSale.id, at: now, actor: SYSTEM, action: 'ARBITRATION_RESOLVED' as const, summary: resolutionSummary(decision) },
    ]),
  );
  await createMessages(
    tx,
    expired.map(({ round, afterSale }) => ({
      merchantId: afterSale.merchantId,
      afterSaleId: afterSale.id,
      kind: 'EVIDENCE_EXPIRED' as const,
      title: '举证已超时 Evidence expired',
      body: `售后单 ${afterSale.number} 未在 ${isoString(round.dueAt)} 前举证，系统已默认支持买家。`,
      at: now,
    })),
  );
  await countOpened(tx, expired.map((d) => d.afterSale), -1);
  return expired;
}

/** What the caller knows: `backlog`, the last batch took as many as it could, so more are likely due. */
type SweepHint = { backlog?: boolean };

type Rounds = Db['t']['evidenceRequests'];
// The two kinds of due round, as SQL over the bound `now` (and `remindBefore` = now + lead).
const pastDue = (rounds: Rounds) => lte(rounds.dueAt, sql.placeholder('now'));
const remindable = (rounds: Rounds) =>
  and(isNull(rounds.remindedAt), lt(rounds.dueAt, sql.placeholder('remindBefore')), gt(rounds.dueAt, sql.placeholder('now')));

/**
 * Whether at least `atLeast` open rounds are `due`: most sweeps find nothing, and a plain read says so
 * without a write transaction (or SQLite's write lock). Ordered by due_at, so the planner takes the open
 * rounds' due_at index and stops after `atLeast` rows.
 */
async function dueAtLeast(db: Db, key: string, due: (rounds: Rounds) => SQL | undefined, params: Record<string, number>, atLeast: number): Promise<boolean> {
  const { evidenceRequests: rounds } = db.t;
  const read = db.prepared(key, () =>
    db.q
      .select({ id: rounds.id })
      .from(rounds)
      .where(and(isOpen(rounds), due(rounds)))
      .orderBy(asc(rounds.dueAt))
      .limit(sql.placeholder('atLeast')),
  );
  return (await read.execute({ ...params, atLeast })).length >= atLeast;
}

/** Whether any round is `due`; in a backlog it is skipped: one more round trip per batch, and the batch's own read finds out as well. */
function anyDue(db: Db, key: string, due: (rounds: Rounds) => SQL | undefined, params: Record<string, number>, hint: SweepHint): Promise<boolean> {
  return hint.backlog ? Promise.resolve(true) : dueAtLeast(db, key, due, params, 1);
}

/** Whether more than `size` rounds are due to expire or to be reminded at `now`: a backlog, as after downtime. */
export async function backlogAt(db: Db, now: number, leadMs: number, size: number): Promise<boolean> {
  return (
    (await dueAtLeast(db, 'deadlines.anyExpiry', pastDue, { now }, size + 1)) ||
    (await dueAtLeast(db, 'deadlines.anyReminder', remindable, { now, remindBefore: now + leadMs }, size + 1))
  );
}

/**
 * Up to `limit` open, `due` rounds, nearest deadline first, with the after-sale fields a decision needs
 * (one statement per batch instead of one per round), their after-sales locked for the claim.
 */
function dueRounds(tx: Db, key: string, due: (rounds: Rounds) => SQL | undefined, params: Record<string, number>): Promise<DueRound[]> {
  const { afterSales, evidenceRequests } = tx.t;
  const select = tx.prepared(key, () =>
    tx.forClaim(
      tx.q
        .select({
          round: { id: evidenceRequests.id, dueAt: evidenceRequests.dueAt },
          afterSale: { id: afterSales.id, merchantId: afterSales.merchantId, number: afterSales.number },
        })
        .from(evidenceRequests)
        .innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId))
        .where(and(isOpen(evidenceRequests), due(evidenceRequests)))
        .orderBy(asc(evidenceRequests.dueAt))
        .limit(sql.placeholder('limit')),
      afterSales,
    ),
  );
  return select.execute(params);
}

/** Expires up to `limit` past-due rounds in one transaction; each claim is a conditional update. */
export async function expireDueRequests(db: Db, now: number, limit: number, hint: SweepHint = {}): Promise<{ count: number; dueAts: number[] }> {
  if (!(await anyDue(db, 'deadlines.anyExpiry', pastDue, { now }, hint))) return { count: 0, dueAts: [] };
  return db.write(async (tx) => {
    const due = await dueRounds(tx, 'deadlines.dueExpiries', pastDue, { now, limit });
    claimed(tx, due);
    const expired = await expireRounds(tx, due, now);
    await discardDrafts(tx, expired.map((d) => d.round.id));
    return { count: expired.length, dueAts: expired.map((d) => d.round.dueAt) };
  });
}

/**
 * Sends the batch's reminders, set-based like expireRounds: one conditional
 * claim (open, not reminded yet) for the rounds still before their deadline
 * and within the lead, then the log lines and the messages, one statement each.
 */
async function remindRounds(tx: Db, due: readonly DueRound[], now: number, leadMs: number): Promise<DueRound[]> {
  const wanted = due.filter((d) => isReminderDue(d.round.dueAt, now, leadMs));
  if (wanted.length === 0) return [];
  const { evidenceRequests } = tx.t;
  const claim = tx.prepared('deadlines.claimReminders', () =>
    tx.q
      .update(evidenceRequests)
      .set({ remindedAt: value('now') })
      .where(and(tx.inIds(evidenceRequests.id, 'ids'), isOpen(evidenceRequests), isNull(evidenceRequests.remindedAt)))
      .returning({ id: evidenceRequests.id }),
  );
  const claimed = await claim.execute({ ids: tx.ids(wanted.map((d) => d.round.id)), now });
  const ids = new Set(claimed.map((c) => c.id));
  const reminded = wanted.filter((d) => ids.has(d.round.id));
  await appendLogs(tx, reminded.map((d) => reminderLog(d, now)));
  await createMessages(tx, reminded.map((d) => reminderMessage(d, now)));
  return reminded;
}

/** Sends up to `limit` due reminders in one transaction; never to a round already past its deadline. */
export async function remindDueRequests(db: Db, now: number, leadMs: number, limit: number, hint: SweepHint = {}): Promise<{ count: number }> {
  const remindBefore = now + leadMs;
  if (!(await anyDue(db, 'deadlines.anyReminder', remindable, { now, remindBefore }, hint))) return { count: 0 };
  return db.write(async (tx) => {
    const due = await dueRounds(tx, 'deadlines.dueReminders', remindable, { now, remindBefore, limit });
    claimed(tx, due);
    return { count: (await remindRounds(tx, due, now, leadMs)).length };
  });
}

/** The next instant at which a reminder or an expiry falls due, or null when no round is open. */
export async function nextDeadlineInstant(db: Db, leadMs: number): Promise<number | null> {
  const { evidenceRequests } = db.t;
  const expiry = db.prepared('deadlines.nextExpiry', () =>
    db.q
      .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})`.mapWith(Number) })
      .from(evidenceRequests)
      .where(isOpen(evidenceRequests)),
  );
  const reminder = db.prepared('deadlines.nextReminder', () =>
    db.q
      .select({ at: sql<number | null>`min(${evidenceRequests.dueAt})`.mapWith(Number) })
      .from(evidenceRequests)
      .where(and(isOpen(evidenceRequests), isNull(evidenceRequests.remindedAt))),
  );
  const [[e], [r]] = await Promise.all([expiry.execute(), reminder.execute()]);
  const expiryAt = e?.at;
  const reminderAt = r?.at;
  const instants = [expiryAt, reminderAt == null ? null : reminderAt - leadMs + 1].filter((v): v is number => v != null);
  return instants.length ? Math.min(...instants) : null;
}
