import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/database.ts';
import { openDatabase } from '../src/db/open.ts';
import { tempDir } from './helpers.ts';
import { testDatabaseUrl } from './support/database.ts';

/**
 * Prepared selects build their rows with a compiled mapper (src/db/row-mapper.ts)
 * instead of drizzle's. Each case runs one query both ways on the real database:
 * prepared (the compiled mapper) and as a plain drizzle query (drizzle's mapping),
 * and the rows must be the same, values, nulls, key order and nesting included.
 */
let db: Db;
const T0 = 1_796_000_000_000; // past 2^32 ms: a bigint that overflows a 32-bit integer

beforeAll(async () => {
  db = await openDatabase((await testDatabaseUrl()) ?? null, tempDir());
  const { merchants, afterSales, evidenceRequests, afterSaleLogs } = db.t;
  await db.write(async (tx) => {
    await tx.q.insert(merchants).values({ id: 'shop-m', name: '店铺 M', createdAt: T0 });
    for (let i = 1; i <= 3; i++) {
      await tx.q.insert(afterSales).values({
        id: i,
        merchantId: 'shop-m',
        number: `AS-${i}`,
        orderNumber: `O-${i}`,
        type: i === 2 ? 'EXCHANGE' : 'REFUND_ONLY',
        reason: '少件',
        buyerClaim: 'Missing one',
        amountCents: 1999 * i,
        status: i === 3 ? 'RESOLVED' : 'AWAITING_MERCHANT_EVIDENCE',
        appliedAt: T0 + i,
        createdAt: T0,
        // One resolved after-sale has its nullable columns set, the others leave them null.
        ...(i === 3 ? { outcome: 'BUYER_FAVORED' as const, decidedBy: 'SYSTEM_TIMEOUT' as const, decidedAt: T0 + 99, opinion: '超时' } : {}),
      });
    }
    await tx.q.insert(evidenceRequests).values([
      { id: 11, afterSaleId: 1, merchantId: 'shop-m', instructions: 'x', requestedBy: 'cs', requestedAt: T0, dueAt: T0 + 86_400_000, status: 'OPEN' },
      { id: 12, afterSaleId: 2, merchantId: 'shop-m', instructions: 'y', requestedBy: 'cs', requestedAt: T0, dueAt: T0 + 3_600_000, status: 'OPEN', remindedAt: T0 + 5 },
    ]);
    await tx.q.insert(afterSaleLogs).values([
      { afterSaleId: 1, at: T0, actor: 'PLATFORM', actorId: null, action: 'EVIDENCE_REQUESTED', summary: 'a' },
      { afterSaleId: 1, at: T0 + 1, actor: 'MERCHANT', actorId: 'shop-m-staff', action: 'EVIDENCE_SUBMITTED', summary: 'b' },
      { afterSaleId: 2, at: T0 + 2, actor: 'SYSTEM', actorId: null, action: 'EVIDENCE_REQUESTED', summary: 'c' },
    ]);
  });
});
afterAll(() => db?.close());

/** Runs the query prepared under `key` (compiled rows) and as drizzle runs it, and answers both. */
async function bothWays<Q extends { prepare(name: string): { execute(values: Record<string, unknown>): Promise<unknown> } } & PromiseLike<unknown>>(
  key: string,
  build: () => Q,
  values: Record<string, unknown> = {},
): Promise<{ compiled: unknown; drizzle: unknown; mapsItself: boolean }> {
  const statement = db.prepared(key, build);
  const compiled = await statement.execute(values);
  // The plain query has its values inlined where the prepared one has placeholders.
  const drizzle = await build();
  // The compiled mapper replaces the statement's own execute (PostgreSQL) or all (SQLite).
  const mapsItself = Object.hasOwn(statement, db.dialect === 'postgres' ? 'execute' : 'all');
  return { compiled, drizzle, mapsItself };
}

const keyOrders = (rows: unknown) => JSON.stringify(rows);

describe('rows of prepared selects', () => {
  it('are those drizzle builds for whole rows: bigints past 2^32, nulls, enums and text', async () => {
    const { afterSales } = db.t;
    const { compiled, drizzle, mapsItself } = await bothWays('test.rows.whole', () => db.q.select().from(afterSales).orderBy(asc(afterSales.id)));
    expect(mapsItself).toBe(true);
    expect(compiled).toEqual(drizzle);
    expect(keyOrders(compiled)).toBe(keyOrders(drizzle));
    const [first, , third] = compiled as Record<string, unknown>[];
    expect(first).toMatchObject({ id: 1, appliedAt: T0 + 1, amountCents: 1999, outcome: null, decidedAt: null, reason: '少件' });
    expect(third).toMatchObject({ outcome: 'BUYER_FAVORED', decidedAt: T0 + 99, opinion: '超时' });
    expect(typeof first!.appliedAt).toBe('number');
  });

  it('are those drizzle builds for nested objects over an inner join, with bound values', async () => {
    const { afterSales, evidenceRequests } = db.t;
    const build = () =>
      db.q
        .select({ request: { id: evidenceRequests.id, dueAt: evidenceRequests.dueAt, remindedAt: evidenceRequests.remindedAt }, afterSale: afterSales })
        .from(evidenceRequests)
        .innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId))
        .where(eq(evidenceRequests.merchantId, sql.placeholder('shop')))
        .orderBy(asc(evidenceRequests.dueAt));
    const statement = db.prepared('test.rows.nested', build);
    const compiled = await statement.execute({ shop: 'shop-m' });
    const drizzle = await db.q
      .select({ request: { id: evidenceRequests.id, dueAt: evidenceRequests.dueAt, remindedAt: evidenceRequests.remindedAt }, afterSale: afterSales })
      .from(evidenceRequests)
      .innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId))
      .where(eq(evidenceRequests.merchantId, 'shop-m'))
      .orderBy(asc(evidenceRequests.dueAt));
    expect(Object.hasOwn(statement, db.dialect === 'postgres' ? 'execute' : 'all')).toBe(true);
    expect(compiled).toEqual(drizzle);
    expect(keyOrders(compiled)).toBe(keyOrders(drizzle));
    expect(compiled).toMatchObject([
      { request: { id: 12, remindedAt: T0 + 5 }, afterSale: { id: 2, type: 'EXCHANGE' } },
      { request: { id: 11, remindedAt: null }, afterSale: { id: 1 } },
    ]);
  });

  it('are those drizzle builds for computed columns decoded with mapWith', async () => {
    const { afterSaleLogs } = db.t;
    const { compiled, drizzle, mapsItself } = await bothWays('test.rows.counts', () =>
      db.q
        .select({ afterSaleId: afterSaleLogs.afterSaleId, n: sql<number>`count(*)`.mapWith(Number), last: sql<number>`max(${afterSaleLogs.at})`.mapWith(Number) })
        .from(afterSaleLogs)
        .groupBy(afterSaleLogs.afterSaleId)
        .orderBy(afterSaleLogs.afterSaleId),
    );
    expect(mapsItself).toBe(true);
    expect(compiled).toEqual(drizzle);
    // count(*) and max(bigint) come from pg as strings: decoded, they are numbers on both databases.
    expect(compiled).toEqual([
      { afterSaleId: 1, n: 2, last: T0 + 1 },
      { afterSaleId: 2, n: 1, last: T0 + 2 },
    ]);
  });

  it('keep drizzle’s own mapping for a left join, whose missing side becomes null', async () => {
    const { afterSales, evidenceRequests } = db.t;
    const { compiled, drizzle, mapsItself } = await bothWays('test.rows.leftJoin', () =>
      db.q
        .select({ number: afterSales.number, request: { id: evidenceRequests.id, status: evidenceRequests.status } })
        .from(afterSales)
        .leftJoin(evidenceRequests, eq(evidenceRequests.afterSaleId, afterSales.id))
        .orderBy(asc(afterSales.id)),
    );
    expect(mapsItself).toBe(false);
    expect(compiled).toEqual(drizzle);
    expect((compiled as { request: unknown }[])[2]!.request).toBeNull();
  });

  // SQLite takes any value for any column; a bad value fails only on PostgreSQL.
  it.runIf(process.env.TEST_DB === 'pg')('fail as drizzle’s do, naming the query, and leave the next run working', async () => {
    const { afterSales } = db.t;
    const statement = db.prepared('test.rows.failing', () =>
      db.q.select({ id: afterSales.id }).from(afterSales).where(eq(afterSales.id, sql`${sql.placeholder('id')}::integer`)),
    );
    await expect(statement.execute({ id: 'not a number' })).rejects.toThrow(/Failed query: select "id" from "after_sales"/);
    expect(await statement.execute({ id: 2 })).toEqual([{ id: 2 }]);
  });
});
