import { asc } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Changes } from '../src/db/changes.ts';
import type { Db } from '../src/db/database.ts';
import { appendLogs, SYSTEM } from '../src/db/logs.ts';
import { createMessages } from '../src/db/messages.ts';
import { openDatabase } from '../src/db/open.ts';
import { tempDir } from './helpers.ts';
import { testDatabaseUrl } from './support/database.ts';

/**
 * Many rows at once (a deadline batch's log lines and messages) go in through Db.insertRows: on SQLite in
 * statements of 32 rows and then one a row, on PostgreSQL one statement. Each row's id is handed back, and
 * announced once the write commits, without reading the rows again: it must be the id the row was stored
 * under, in every chunk and the rest, also after rows taken one at a time.
 */
let db: Db;
const commits: Changes[] = [];
const T0 = 1_796_000_000_000;

beforeAll(async () => {
  db = await openDatabase((await testDatabaseUrl()) ?? null, tempDir(), { onCommit: (changes) => commits.push(changes) });
  const { merchants, afterSales } = db.t;
  await db.write(async (tx) => {
    await tx.q.insert(merchants).values([
      { id: 'shop-a', name: '店铺 A', createdAt: T0 },
      { id: 'shop-b', name: '店铺 B', createdAt: T0 },
    ]);
    for (let i = 1; i <= 40; i++) {
      await tx.q.insert(afterSales).values({
        id: i,
        merchantId: i % 2 ? 'shop-a' : 'shop-b',
        number: `AS-${i}`,
        orderNumber: `O-${i}`,
        type: 'REFUND_ONLY',
        reason: '少件',
        buyerClaim: 'Missing one',
        amountCents: 100 * i,
        status: 'AWAITING_MERCHANT_EVIDENCE',
        appliedAt: T0,
        createdAt: T0,
      });
    }
  });
});
afterAll(() => db?.close());

const line = (afterSaleId: number, n: number) => ({ afterSaleId, at: T0 + n, actor: SYSTEM, action: 'EVIDENCE_EXPIRED' as const, summary: `line ${n} of ${afterSaleId}` });
const message = (afterSaleId: number, n: number) => ({
  merchantId: afterSaleId % 2 ? 'shop-a' : 'shop-b',
  afterSaleId,
  kind: 'EVIDENCE_EXPIRED' as const,
  title: '举证已超时',
  body: `售后单 AS-${afterSaleId} 第 ${n} 条`,
  at: T0 + n,
});

async function storedLogs() {
  const { afterSaleLogs: logs } = db.t;
  return (await db.q.select({ id: logs.id, afterSaleId: logs.afterSaleId, summary: logs.summary }).from(logs).orderBy(asc(logs.id))).map((r) => ({ ...r, id: Number(r.id) }));
}

async function storedMessages() {
  const { messages } = db.t;
  return (await db.q.select({ id: messages.id, merchantId: messages.merchantId, body: messages.body }).from(messages).orderBy(asc(messages.id))).map((r) => ({ ...r, id: Number(r.id) }));
}

describe('inserting many rows at once', () => {
  it('hands back and announces the id each row was stored under, in the order given', async () => {
    // 75 lines and 70 messages: two full chunks of 32 and a rest, after one line and one message taken alone.
    const returned = await db.write(async (tx) => {
      // The after-sales' lines first, then the boxes' messages: the one lock order.
      const alone = await appendLogs(tx, [line(1, 0)]);
      const lines = await appendLogs(tx, Array.from({ length: 75 }, (_, n) => line(1 + (n % 40), n + 1)));
      const aloneMessage = await createMessages(tx, [message(2, 0)]);
      const boxed = await createMessages(tx, Array.from({ length: 70 }, (_, n) => message(1 + ((n * 7) % 40), n + 1)));
      return { logs: [...alone, ...lines], messages: [...aloneMessage, ...boxed] };
    });

    const logs = await storedLogs();
    const messages = await storedMessages();
    expect(logs).toHaveLength(76);
    expect(messages).toHaveLength(71);
    expect(returned.logs.map((r) => ({ id: r.id, afterSaleId: r.afterSaleId, summary: r.summary }))).toEqual(logs);
    expect(returned.messages.map((r) => ({ id: r.id, merchantId: r.merchantId, body: r.body }))).toEqual(messages);
    // The lines were given in order, so their ids rise in it.
    expect(logs.slice(1).map((r) => r.summary)).toEqual(Array.from({ length: 75 }, (_, n) => `line ${n + 1} of ${1 + (n % 40)}`));

    const announced = commits.at(-1)!;
    expect(announced.logs.map((r) => r.id)).toEqual(logs.map((r) => r.id));
    expect(announced.messages.map((r) => [r.id, r.merchantId])).toEqual(messages.map((r) => [r.id, r.merchantId]));
  });

  it('stores none of the rows when one of them is refused, in a chunk or in the rest', async () => {
    const before = { logs: await storedLogs(), messages: await storedMessages(), commits: commits.length };
    for (const bad of [5, 65]) {
      // After-sale 999 does not exist: its line breaks the foreign key.
      const lines = Array.from({ length: 70 }, (_, n) => line(n === bad ? 999 : 1 + (n % 40), 1000 + n));
      await expect(db.write((tx) => appendLogs(tx, lines))).rejects.toThrow();
    }
    expect(await storedLogs()).toEqual(before.logs);
    expect(await storedMessages()).toEqual(before.messages);
    expect(commits).toHaveLength(before.commits);

    // And the ids go on from where they were: the next rows' are the stored ones too.
    const next = await db.write((tx) => appendLogs(tx, Array.from({ length: 33 }, (_, n) => line(3, 2000 + n))));
    expect(next.map((r) => ({ id: r.id, afterSaleId: r.afterSaleId, summary: r.summary }))).toEqual((await storedLogs()).slice(-33));
  });
});
