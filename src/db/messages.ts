import { and, asc, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './database.ts';
import type { MessageKind, MessageRow } from './schema.ts';

export type MessageRef = Pick<MessageRow, 'id' | 'merchantId'>;

/** Puts a message in a shop's box, in a write; its id is taken under the box's lock, so in commit order. */
export async function createMessage(
  tx: Db,
  message: { merchantId: string; afterSaleId: number; kind: MessageKind; title: string; body: string; at: number },
): Promise<MessageRow> {
  await tx.lockMessageBoxes([message.merchantId]);
  const { messages } = tx.t;
  const insert = tx.prepared('messages.create', () =>
    tx.q
      .insert(messages)
      .values({
        merchantId: sql.placeholder('merchantId'),
        afterSaleId: sql.placeholder('afterSaleId'),
        kind: sql.placeholder('kind'),
        title: sql.placeholder('title'),
        body: sql.placeholder('body'),
        createdAt: sql.placeholder('createdAt'),
      })
      .returning({ id: messages.id }),
  );
  const values = { merchantId: message.merchantId, afterSaleId: message.afterSaleId, kind: message.kind, title: message.title, body: message.body, createdAt: message.at };
  const [inserted] = await insert.execute(values);
  const row: MessageRow = { id: inserted!.id, ...values, readAt: null };
  tx.changes!.messages.push(row);
  return row;
}

type NewMessage = { merchantId: string; afterSaleId: number; kind: MessageKind; title: string; body: string; at: number };

/** Puts many messages in their boxes at once (a deadline batch; tx.insertRows), each id under its box's lock. */
export async function createMessages(tx: Db, list: readonly NewMessage[]): Promise<MessageRow[]> {
  if (list.length === 0) return [];
  await tx.lockMessageBoxes(list.map((m) => m.merchantId));
  const values = list.map((m) => ({ merchantId: m.merchantId, afterSaleId: m.afterSaleId, kind: m.kind, title: m.title, body: m.body, createdAt: m.at, readAt: null }));
  const ids = await tx.insertRows('messages.createMany', tx.t.messages, values);
  const rows = values.map((v, i) => ({ id: ids[i]!, ...v }));
  tx.changes!.messages.push(...rows);
  return rows;
}

/** A page of a shop's message box, newest first, older than message `beforeId`. */
export async function listMessages(db: Db, merchantId: string, page: { first: number; beforeId: number | null; unreadOnly: boolean }) {
  const { messages } = db.t;
  const rows = await db.q
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
    .limit(page.first + 1);
  return { rows: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
}

export async function countMessages(db: Db, merchantId: string, unreadOnly: boolean): Promise<number> {
  const { messages } = db.t;
  // Every live message box event asks this for its socket: prepared once per connection and filter.
  const select = db.prepared(`messages.count:${unreadOnly}`, () =>
    db.q
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(messages)
      .where(and(eq(messages.merchantId, sql.placeholder('merchantId')), unreadOnly ? isNull(messages.readAt) : undefined)),
  );
  const [row] = await select.execute({ merchantId });
  return row!.n;
}

/** Messages created after message `afterId`, oldest first: what a reconnecting message box missed. */
export async function messagesAfter(db: Db, merchantId: string, afterId: number, limit: number): Promise<MessageRow[]> {
  const { messages } = db.t;
  const select = db.prepared('messages.after', () =>
    db.q
      .select()
      .from(messages)
      .where(and(eq(messages.merchantId, sql.placeholder('merchantId')), gt(messages.id, sql.placeholder('afterId'))))
      .orderBy(asc(messages.id))
      .limit(sql.placeholder('limit')),
  );
  return select.execute({ merchantId, afterId, limit });
}

/** Marks the shop's own unread messages among `ids` read; returns how many changed. */
export async function markMessagesRead(db: Db, merchantId: string, ids: readonly number[], now: number): Promise<number> {
  if (ids.length === 0) return 0;
  return db.write(async (tx) => {
    const { messages } = tx.t;
    const changed = await tx.q
      .update(messages)
      .set({ readAt: now })
      .where(and(eq(messages.merchantId, merchantId), inArray(messages.id, [...ids]), isNull(messages.readAt)))
      .returning({ id: messages.id });
    return changed.length;
  });
}

export async function messagesByIds(db: Db, ids: readonly number[]): Promise<MessageRow[]> {
  const { messages } = db.t;
  return db.prepared('messages.byIds', () => db.q.select().from(messages).where(db.inIds(messages.id, 'ids'))).execute({ ids: db.ids(ids) });
}

export async function newestMessageId(db: Db, merchantId: string): Promise<number> {
  const { messages } = db.t;
  const select = db.prepared('messages.newest', () =>
    db.q
      .select({ id: sql<number | null>`max(${messages.id})`.mapWith(Number) })
      .from(messages)
      .where(eq(messages.merchantId, sql.placeholder('merchantId'))),
  );
  const [row] = await select.execute({ merchantId });
  return row?.id ?? 0;
}

/**
 * Every shop's messages after message `afterId`, oldest first, as references
 * (id and shop): what the cross-process relay announces. The feeds read the
 * rows themselves, so the relay reads no more than it must.
 */
export async function allMessagesAfter(db: Db, afterId: number, limit: number): Promise<MessageRef[]> {
  const { messages } = db.t;
  const select = db.prepared('messages.allAfter', () =>
    db.q
      .select({ id: messages.id, merchantId: messages.merchantId })
      .from(messages)
      .where(gt(messages.id, sql.placeholder('afterId')))
      .orderBy(messages.id)
      .limit(sql.placeholder('limit')),
  );
  return select.execute({ afterId, limit });
}

export async function newestMessageIdOfAll(db: Db): Promise<number> {
  const { messages } = db.t;
  const [row] = await db.q.select({ id: sql<number | null>`max(${messages.id})`.mapWith(Number) }).from(messages);
  return row?.id ?? 0;
}
