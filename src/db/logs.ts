import { and, eq, getTableColumns, gt, inArray, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Db } from './client.ts';
import type { Changes } from './changes.ts';
import { inIds, jsonIds, prepared } from './prepared.ts';
import { afterSaleLogs, type AfterSaleLogRow, type LogAction, type LogActor } from './schema.ts';

export interface Actor {
  kind: LogActor;
  /** The person or system that acted, e.g. a merchant's staff member or an agent id. */
  id: string | null;
}

export const SYSTEM: Actor = { kind: 'SYSTEM', id: 'deadline-scheduler' };

export function appendLog(
  tx: Db,
  changes: Changes,
  entry: { afterSaleId: number; at: number; actor: Actor; action: LogAction; summary: string },
): AfterSaleLogRow {
  const insert = prepared(tx, 'logs.append', () =>
    tx
      .insert(afterSaleLogs)
      .values({
        afterSaleId: sql.placeholder('afterSaleId'),
        at: sql.placeholder('at'),
        actor: sql.placeholder('actor'),
        actorId: sql.placeholder('actorId'),
        action: sql.placeholder('action'),
        summary: sql.placeholder('summary'),
      })
      .prepare(),
  );
  const values = { afterSaleId: entry.afterSaleId, at: entry.at, actor: entry.actor.kind, actorId: entry.actor.id, action: entry.action, summary: entry.summary };
  // The row is what was inserted: every column is given, none has a default, so no RETURNING round trip.
  const row: AfterSaleLogRow = { id: Number(insert.run(values).lastInsertRowid), ...values };
  changes.logs.push(row);
  return row;
}

/**
 * The first `first` log lines of each of many after-sales, in one statement:
 * what a workbench page shows beside each row. For each after-sale the index
 * yields its first lines and stops, instead of ranking all of them.
 */
export function firstLogsOf(db: Db, afterSaleIds: readonly number[], first: number, afterId: number | null) {
  if (afterSaleIds.length === 0) return new Map<number, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
  const select = prepared(db, 'logs.firstOf', () => {
    const page = alias(afterSaleLogs, 'page');
    const firstIds = db
      .select({ id: page.id })
      .from(page)
      .where(and(eq(page.afterSaleId, sql`wanted.value`), gt(page.id, sql.placeholder('afterId'))))
      .orderBy(page.id)
      .limit(sql.placeholder('limit'));
    return db
      .select(getTableColumns(afterSaleLogs))
      .from(sql`json_each(${sql.placeholder('ids')}) as wanted`)
      .innerJoin(afterSaleLogs, inArray(afterSaleLogs.id, firstIds))
      .orderBy(afterSaleLogs.afterSaleId, afterSaleLogs.id)
      .prepare();
  });
  // Log ids start at 1, so "after 0" is "from the start".
  const rows = select.all({ ids: jsonIds([...new Set(afterSaleIds)]), afterId: afterId ?? 0, limit: first + 1 });
  const byAfterSale = new Map<number, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
  for (const id of afterSaleIds) byAfterSale.set(id, { rows: [], hasNextPage: false });
  for (const row of rows) {
    const entry = byAfterSale.get(row.afterSaleId)!;
    if (entry.rows.length === first) entry.hasNextPage = true;
    else entry.rows.push(row);
  }
  return byAfterSale;
}

export function countLogs(db: Db, afterSaleIds: readonly number[]): Map<number, number> {
  const select = prepared(db, 'logs.count', () =>
    db
      .select({ afterSaleId: afterSaleLogs.afterSaleId, n: sql<number>`count(*)` })
      .from(afterSaleLogs)
      .where(inIds(afterSaleLogs.afterSaleId, 'ids'))
      .groupBy(afterSaleLogs.afterSaleId)
      .prepare(),
  );
  return new Map(select.all({ ids: jsonIds(afterSaleIds) }).map((r) => [r.afterSaleId, r.n]));
}

export function logsByIds(db: Db, ids: readonly number[]): AfterSaleLogRow[] {
  return db.select().from(afterSaleLogs).where(inArray(afterSaleLogs.id, [...ids])).all();
}

/** Log lines of one after-sale after line `afterId`, oldest first: what a live follower has not seen yet. */
export function logsAfter(db: Db, afterSaleId: number, afterId: number, limit: number): AfterSaleLogRow[] {
  return db
    .select()
    .from(afterSaleLogs)
    .where(and(eq(afterSaleLogs.afterSaleId, afterSaleId), gt(afterSaleLogs.id, afterId)))
    .orderBy(afterSaleLogs.id)
    .limit(limit)
    .all();
}

export function newestLogId(db: Db, afterSaleId: number): number {
  return db.select({ id: sql<number | null>`max(${afterSaleLogs.id})` }).from(afterSaleLogs).where(eq(afterSaleLogs.afterSaleId, afterSaleId)).get()?.id ?? 0;
}

/** Every after-sale's log lines after line `afterId`, oldest first, as references (id and after-sale): see allMessagesAfter. */
export function allLogsAfter(db: Db, afterId: number, limit: number): LogRef[] {
  const select = prepared(db, 'logs.allAfter', () =>
    db
      .select({ id: afterSaleLogs.id, afterSaleId: afterSaleLogs.afterSaleId })
      .from(afterSaleLogs)
      .where(gt(afterSaleLogs.id, sql.placeholder('afterId')))
      .orderBy(afterSaleLogs.id)
      .limit(sql.placeholder('limit'))
      .prepare(),
  );
  return select.all({ afterId, limit });
}

export type LogRef = Pick<AfterSaleLogRow, 'id' | 'afterSaleId'>;

export function newestLogIdOfAll(db: Db): number {
  return db.select({ id: sql<number | null>`max(${afterSaleLogs.id})` }).from(afterSaleLogs).get()?.id ?? 0;
}
