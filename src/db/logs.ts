import { and, eq, gt, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import type { AfterSaleLogRow, LogAction, LogActor } from './schema.ts';

export interface Actor {
  kind: LogActor;
  /** The person or system that acted, e.g. a merchant's staff member or an agent id. */
  id: string | null;
}

export const SYSTEM: Actor = { kind: 'SYSTEM', id: 'deadline-scheduler' };

export type LogRef = Pick<AfterSaleLogRow, 'id' | 'afterSaleId'>;

/** Appends a log line in a write; its id is taken under the after-sale's lock, so in commit order. */
export async function appendLog(
  tx: Db,
  entry: { afterSaleId: number; at: number; actor: Actor; action: LogAction; summary: string },
): Promise<AfterSaleLogRow> {
  await tx.lockAfterSales([entry.afterSaleId]);
  const { afterSaleLogs } = tx.t;
  const insert = tx.prepared('logs.append', () =>
    tx.q
      .insert(afterSaleLogs)
      .values({
        afterSaleId: sql.placeholder('afterSaleId'),
        at: sql.placeholder('at'),
        actor: sql.placeholder('actor'),
        actorId: sql.placeholder('actorId'),
        action: sql.placeholder('action'),
        summary: sql.placeholder('summary'),
      })
      .returning({ id: afterSaleLogs.id }),
  );
  const values = { afterSaleId: entry.afterSaleId, at: entry.at, actor: entry.actor.kind, actorId: entry.actor.id, action: entry.action, summary: entry.summary };
  const [inserted] = await insert.execute(values);
  const row: AfterSaleLogRow = { id: inserted!.id, ...values };
  tx.changes!.logs.push(row);
  return row;
}

type LogEntry = { afterSaleId: number; at: number; actor: Actor; action: LogAction; summary: string };

/**
 * Appends many log lines at once (a deadline batch; tx.insertRows). Their ids
 * are taken under their after-sales' locks, in the order given.
 */
export async function appendLogs(tx: Db, entries: readonly LogEntry[]): Promise<AfterSaleLogRow[]> {
  if (entries.length === 0) return [];
  await tx.lockAfterSales(entries.map((e) => e.afterSaleId));
  const values = entries.map((e) => ({ afterSaleId: e.afterSaleId, at: e.at, actor: e.actor.kind, actorId: e.actor.id, action: e.action, summary: e.summary }));
  const ids = await tx.insertRows('logs.appendMany', tx.t.afterSaleLogs, values);
  const rows = values.map((v, i) => ({ id: ids[i]!, ...v }));
  tx.changes!.logs.push(...rows);
  return rows;
}

/**
 * The first `first` log lines of each of many after-sales, in one statement:
 * what a workbench page shows beside each row. For each after-sale the index
 * yields its first lines and stops, instead of ranking all of them.
 */
export async function firstLogsOf(db: Db, afterSaleIds: readonly number[], first: number, afterId: number | null) {
  const byAfterSale = new Map<number, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
  if (afterSaleIds.length === 0) return byAfterSale;
  // Log ids start at 1, so "after 0" is "from the start".
  const rows = await db.firstLogLines([...new Set(afterSaleIds)], afterId ?? 0, first + 1);
  for (const id of afterSaleIds) byAfterSale.set(id, { rows: [], hasNextPage: false });
  for (const row of rows) {
    const entry = byAfterSale.get(row.afterSaleId)!;
    if (entry.rows.length === first) entry.hasNextPage = true;
    else entry.rows.push(row);
  }
  return byAfterSale;
}

export async function countLogs(db: Db, afterSaleIds: readonly number[]): Promise<Map<number, number>> {
  const { afterSaleLogs } = db.t;
  const select = db.prepared('logs.count', () =>
    db.q
      .select({ afterSaleId: afterSaleLogs.afterSaleId, n: sql<number>`count(*)`.mapWith(Number) })
      .from(afterSaleLogs)
      .where(db.inIds(afterSaleLogs.afterSaleId, 'ids'))
      .groupBy(afterSaleLogs.afterSaleId),
  );
  const rows = await select.execute({ ids: db.ids(afterSaleIds) });
  return new Map(rows.map((r) => [r.afterSaleId, r.n]));
}

export async function logsByIds(db: Db, ids: readonly number[]): Promise<AfterSaleLogRow[]> {
  const { afterSaleLogs } = db.t;
  return db.prepared('logs.byIds', () => db.q.select().from(afterSaleLogs).where(db.inIds(afterSaleLogs.id, 'ids'))).execute({ ids: db.ids(ids) });
}

/** Log lines of one after-sale after line `afterId`, oldest first: what a live follower has not seen yet. */
export async function logsAfter(db: Db, afterSaleId: number, afterId: number, limit: number): Promise<AfterSaleLogRow[]> {
  const { afterSaleLogs } = db.t;
  const select = db.prepared('logs.after', () =>
    db.q
      .select()
      .from(afterSaleLogs)
      .where(and(eq(afterSaleLogs.afterSaleId, sql.placeholder('afterSaleId')), gt(afterSaleLogs.id, sql.placeholder('afterId'))))
      .orderBy(afterSaleLogs.id)
      .limit(sql.placeholder('limit')),
  );
  return select.execute({ afterSaleId, afterId, limit });
}

export async function newestLogId(db: Db, afterSaleId: number): Promise<number> {
  const { afterSaleLogs } = db.t;
  const [row] = await db.q
    .select({ id: sql<number | null>`max(${afterSaleLogs.id})`.mapWith(Number) })
    .from(afterSaleLogs)
    .where(eq(afterSaleLogs.afterSaleId, afterSaleId));
  return row?.id ?? 0;
}

/** Every after-sale's log lines after line `afterId`, oldest first, as references (id and after-sale): see allMessagesAfter. */
export async function allLogsAfter(db: Db, afterId: number, limit: number): Promise<LogRef[]> {
  const { afterSaleLogs } = db.t;
  const select = db.prepared('logs.allAfter', () =>
    db.q
      .select({ id: afterSaleLogs.id, afterSaleId: afterSaleLogs.afterSaleId })
      .from(afterSaleLogs)
      .where(gt(afterSaleLogs.id, sql.placeholder('afterId')))
      .orderBy(afterSaleLogs.id)
      .limit(sql.placeholder('limit')),
  );
  return select.execute({ afterId, limit });
}

export async function newestLogIdOfAll(db: Db): Promise<number> {
  const { afterSaleLogs } = db.t;
  const [row] = await db.q.select({ id: sql<number | null>`max(${afterSaleLogs.id})`.mapWith(Number) }).from(afterSaleLogs);
  return row?.id ?? 0;
}
