import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import type { Changes } from './changes.ts';
import { prepared } from './prepared.ts';
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
      .returning()
      .prepare(),
  );
  const row = insert.get({ ...entry, actor: entry.actor.kind, actorId: entry.actor.id })!;
  changes.logs.push(row);
  return row;
}

/**
 * The first `first` log lines of each of many after-sales, in one statement:
 * what a workbench page shows beside each row.
 */
export function firstLogsOf(db: Db, afterSaleIds: readonly number[], first: number, afterId: number | null) {
  if (afterSaleIds.length === 0) return new Map<number, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
  const ranked = db
    .select({
      id: afterSaleLogs.id,
      afterSaleId: afterSaleLogs.afterSaleId,
      at: afterSaleLogs.at,
      actor: afterSaleLogs.actor,
      actorId: afterSaleLogs.actorId,
      action: afterSaleLogs.action,
      summary: afterSaleLogs.summary,
      rank: sql<number>`row_number() over (partition by ${afterSaleLogs.afterSaleId} order by ${afterSaleLogs.id})`.as('rank'),
    })
    .from(afterSaleLogs)
    .where(and(inArray(afterSaleLogs.afterSaleId, [...afterSaleIds]), afterId == null ? undefined : gt(afterSaleLogs.id, afterId)))
    .as('ranked');
  const rows = db.select().from(ranked).where(sql`${ranked.rank} <= ${first + 1}`).orderBy(ranked.afterSaleId, ranked.id).all();
  const byAfterSale = new Map<number, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
  for (const id of afterSaleIds) byAfterSale.set(id, { rows: [], hasNextPage: false });
  for (const { rank, ...row } of rows) {
    const entry = byAfterSale.get(row.afterSaleId)!;
    if (rank > first) entry.hasNextPage = true;
    else entry.rows.push(row);
  }
  return byAfterSale;
}

export function countLogs(db: Db, afterSaleIds: readonly number[]): Map<number, number> {
  const rows = db
    .select({ afterSaleId: afterSaleLogs.afterSaleId, n: sql<number>`count(*)` })
    .from(afterSaleLogs)
    .where(inArray(afterSaleLogs.afterSaleId, [...afterSaleIds]))
    .groupBy(afterSaleLogs.afterSaleId)
    .all();
  return new Map(rows.map((r) => [r.afterSaleId, r.n]));
}

export function getLog(db: Db, id: number): AfterSaleLogRow | undefined {
  return db.select().from(afterSaleLogs).where(eq(afterSaleLogs.id, id)).get();
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
