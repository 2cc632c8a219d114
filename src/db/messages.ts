import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import type { Changes } from './changes.ts';
import { inIds, jsonIds, prepared } from './prepared.ts';
import { messages, type MessageKind, type MessageRow } from './schema.ts';

export function createMessage(
  tx: Db,
  changes: Changes,
  message: { merchantId: string; afterSaleId: number; kind: MessageKind; title: string; body: string; at: number },
): MessageRow {
  const insert = prepared(tx, 'messages.create', () =>
    tx
      .insert(messages)
      .values({
        merchantId: sql.placeholder('merchantId'),
        afterSaleId: sql.placeholder('afterSaleId'),
        kind: sql.placeholder('kind'),
        title: sql.placeholder('title'),
        body: sql.placeholder('body'),
        createdAt: sql.placeholder('createdAt'),
      })
      .prepare(),
  );
  const values = { merchantId: message.merchantId, afterSaleId: message.afterSaleId, kind: message.kind, title: message.title, body: message.body, createdAt: message.at };
  // The row is what was inserted (readAt starts empty), so no RETURNING round trip.
  const row: MessageRow = { id: Number(insert.run(values).lastInsertRowid), ...values, readAt: null };
  changes.messages.push(row);
  return row;
}

/** A page of a shop's message box, newest first, older than message `beforeId`. */
export function listMessages(
  db: Db,
  merchantId: string,
  page: { first: number; beforeId: number | null; unreadOnly: boolean },
) {
  const rows = db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.merchantId, merchantId),
        page.beforeId == null ? undefined : lt(messages.id, page.beforeId),
        page.unreadOnly ? isNull(messages.readAt) : undefined,
      ),
    )
    .orderBy(desc(messages.id))
    .limit(page.first + 1)
    .all();
  return { rows: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
}

export function countMessages(db: Db, merchantId: string, unreadOnly: boolean): number {
  // Every live message box event asks this for its socket: prepared once per connection and filter.
  const select = prepared(db, `messages.count:${unreadOnly}`, () =>
    db
      .select({ n: sql<number>`count(*)` })
      .from(messages)
      .where(and(eq(messages.merchantId, sql.placeholder('merchantId')), unreadOnly ? isNull(messages.readAt) : undefined))
      .prepare(),
  );
  return select.get({ merchantId })!.n;
}

/** Messages created after message `afterId`, oldest first: what a reconnecting message box missed. */
export function messagesAfter(db: Db, merchantId: string, afterId: number, limit: number): MessageRow[] {
  const select = prepared(db, 'messages.after', () =>
    db
      .select()
      .from(messages)
      .where(and(eq(messages.merchantId, sql.placeholder('merchantId')), gt(messages.id, sql.placeholder('afterId'))))
      .orderBy(asc(messages.id))
      .limit(sql.placeholder('limit'))
      .prepare(),
  );
  return select.all({ merchantId, afterId, limit });
}

/** Marks the shop's own unread messages among `ids` read; returns how many changed. */
export function markMessagesRead(db: Db, merchantId: string, ids: readonly number[], now: number): number {
  if (ids.length === 0) return 0;
  return db
    .update(messages)
    .set({ readAt: now })
    .where(and(eq(messages.merchantId, merchantId), inArray(messages.id, [...ids]), isNull(messages.readAt)))
    .run().changes;
}

export function messagesByIds(db: Db, ids: readonly number[]): MessageRow[] {
  const select = prepared(db, 'messages.byIds', () => db.select().from(messages).where(inIds(messages.id, 'ids')).prepare());
  return select.all({ ids: jsonIds(ids) });
}

export function newestMessageId(db: Db, merchantId: string): number {
  const select = prepared(db, 'messages.newest', () =>
    db
      .select({ id: sql<number | null>`max(${messages.id})` })
      .from(messages)
      .where(eq(messages.merchantId, sql.placeholder('merchantId')))
      .prepare(),
  );
  return select.get({ merchantId })?.id ?? 0;
}

/**
 * Every shop's messages after message `afterId`, oldest first, as references
 * (id and shop): what the cross-process relay announces. The feeds read the
 * rows themselves, so the relay reads no more than it must.
 */
export function allMessagesAfter(db: Db, afterId: number, limit: number): MessageRef[] {
  const select = prepared(db, 'messages.allAfter', () =>
    db
      .select({ id: messages.id, merchantId: messages.merchantId })
      .from(messages)
      .where(gt(messages.id, sql.placeholder('afterId')))
      .orderBy(messages.id)
      .limit(sql.placeholder('limit'))
      .prepare(),
  );
  return select.all({ afterId, limit });
}

export type MessageRef = Pick<MessageRow, 'id' | 'merchantId'>;

export function newestMessageIdOfAll(db: Db): number {
  return db.select({ id: sql<number | null>`max(${messages.id})` }).from(messages).get()?.id ?? 0;
}
