import { and, asc, eq, gt, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from './database.ts';
import { InvalidInputError } from './errors.ts';
import { appendLog, type Actor } from './logs.ts';
import { isOpen } from './rounds.ts';
import type { AfterSaleRow, AfterSaleType, EvidenceRequestRow } from './schema.ts';
import { cleanText } from './text.ts';

export interface RecordAfterSaleInput {
  merchantId: string;
  number: string;
  orderNumber: string;
  type: AfterSaleType;
  reason: string;
  buyerClaim: string;
  amountCents: number;
  appliedAt?: Date | null;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

function identifier(value: string, field: string): string {
  const v = value.trim();
  if (!ID_PATTERN.test(v)) throw new InvalidInputError(field, `${field} must be 1 to 64 letters, digits or _.:- characters`);
  return v;
}

/**
 * Stores an after-sale the buyer escalated to the platform (PLATFORM_INTERVENING).
 * Idempotent on the after-sale number: the same merchant's number again returns
 * the stored row unchanged; another merchant's number is refused.
 */
export async function recordAfterSale(
  db: Db,
  input: RecordAfterSaleInput,
  actor: Actor,
  now: number,
): Promise<{ afterSale: AfterSaleRow; created: boolean }> {
  const merchantId = identifier(input.merchantId, 'merchantId');
  const number = identifier(input.number, 'number');
  const orderNumber = identifier(input.orderNumber, 'orderNumber');
  const reason = cleanText(input.reason, 'reason', 1, 200);
  const buyerClaim = cleanText(input.buyerClaim, 'buyerClaim', 1, 2000);
  if (!Number.isSafeInteger(input.amountCents) || input.amountCents < 0) {
    throw new InvalidInputError('amountCents', 'amountCents must be a whole number of fen, zero or more');
  }
  const appliedAt = input.appliedAt ? input.appliedAt.getTime() : now;
  if (!Number.isFinite(appliedAt) || appliedAt > now + 60_000) {
    throw new InvalidInputError('appliedAt', 'appliedAt must be a valid time, not in the future');
  }

  return db.write(async (tx) => {
    const { afterSales, merchants } = tx.t;
    const stored = async () => {
      const [existing] = await tx.q.select().from(afterSales).where(eq(afterSales.number, number));
      if (existing && existing.merchantId !== merchantId) {
        throw new InvalidInputError('number', 'This after-sale number already belongs to another merchant');
      }
      return existing;
    };
    const existing = await stored();
    if (existing) return { afterSale: existing, created: false };
    await tx.q.insert(merchants).values({ id: merchantId, name: merchantId, createdAt: now }).onConflictDoNothing();
    // Two platform calls recording one number at once: the second waits for the first and stores nothing.
    const [afterSale] = await tx.q
      .insert(afterSales)
      .values({
        merchantId,
        number,
        orderNumber,
        type: input.type,
        reason,
        buyerClaim,
        amountCents: input.amountCents,
        status: 'PLATFORM_INTERVENING',
        appliedAt,
        createdAt: now,
      })
      .onConflictDoNothing({ target: afterSales.number })
      .returning();
    if (!afterSale) return { afterSale: (await stored())!, created: false };
    const buyer: Actor = { kind: 'BUYER', id: null };
    await appendLog(tx, { afterSaleId: afterSale.id, at: appliedAt, actor: buyer, action: 'APPLIED', summary: `Buyer applied for ${input.type.toLowerCase().replaceAll('_', ' ')}: ${reason}` });
    await appendLog(tx, { afterSaleId: afterSale.id, at: now, actor, action: 'PLATFORM_INTERVENED', summary: 'Buyer escalated; the platform is intervening' });
    return { afterSale, created: true };
  });
}

export async function afterSalesByIds(db: Db, ids: readonly number[]): Promise<AfterSaleRow[]> {
  const { afterSales } = db.t;
  return db.prepared('afterSales.byIds', () => db.q.select().from(afterSales).where(db.inIds(afterSales.id, 'ids'))).execute({ ids: db.ids(ids) });
}

export interface AwaitingEvidenceFilter {
  dueWithinMs?: number | null;
  search?: string | null;
  type?: AfterSaleType | null;
  appliedAfter?: number | null;
  appliedBefore?: number | null;
}

export interface AwaitingCursor {
  dueAt: number;
  requestId: number;
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Which conditions a workbench query has: one prepared statement per combination, values bound at run time. */
interface AwaitingShape {
  dueWithin: boolean;
  type: boolean;
  appliedAfter: boolean;
  appliedBefore: boolean;
  search: boolean;
  after: boolean;
}

function shapeOf(filter: AwaitingEvidenceFilter, after: boolean): AwaitingShape {
  return {
    dueWithin: filter.dueWithinMs != null,
    type: Boolean(filter.type),
    appliedAfter: filter.appliedAfter != null,
    appliedBefore: filter.appliedBefore != null,
    search: Boolean(filter.search?.trim()),
    after,
  };
}

const shapeKey = (shape: AwaitingShape) => Object.values(shape).map(Number).join('');

/** True when a filter reads the after-sale itself, not only its round. */
function filtersAfterSale(shape: AwaitingShape): boolean {
  return shape.type || shape.appliedAfter || shape.appliedBefore || shape.search;
}

function awaitingConditions(db: Db, shape: AwaitingShape): SQL[] {
  const { afterSales, evidenceRequests } = db.t;
  const where: SQL[] = [eq(evidenceRequests.merchantId, sql.placeholder('merchantId')), isOpen(evidenceRequests)];
  if (shape.dueWithin) where.push(lte(evidenceRequests.dueAt, sql.placeholder('dueBefore')));
  if (shape.type) where.push(eq(afterSales.type, sql.placeholder('type')));
  if (shape.appliedAfter) where.push(gte(afterSales.appliedAt, sql.placeholder('appliedAfter')));
  if (shape.appliedBefore) where.push(lt(afterSales.appliedAt, sql.placeholder('appliedBefore')));
  if (shape.search) {
    // Numbers are ASCII; search ignores their case on both databases.
    const prefix = sql`${sql.placeholder('prefix')}`;
    where.push(or(db.likeIgnoringCase(afterSales.number, prefix), db.likeIgnoringCase(afterSales.orderNumber, prefix))!);
  }
  return where;
}

function awaitingValues(merchantId: string, filter: AwaitingEvidenceFilter, now: number) {
  const search = filter.search?.trim();
  return {
    merchantId,
    dueBefore: filter.dueWithinMs == null ? null : now + filter.dueWithinMs,
    type: filter.type ?? null,
    appliedAfter: filter.appliedAfter ?? null,
    appliedBefore: filter.appliedBefore ?? null,
    prefix: search ? `${escapeLike(search)}%` : null,
  };
}

/**
 * The shop's after-sales waiting for its evidence, nearest deadline first (keyset paging).
 * Each comes with its open round's place in the order; the page loads the rounds themselves.
 */
export async function listAwaitingEvidence(
  db: Db,
  merchantId: string,
  page: { first: number; after: AwaitingCursor | null; filter: AwaitingEvidenceFilter },
  now: number,
): Promise<{ rows: { afterSale: AfterSaleRow; request: Pick<EvidenceRequestRow, 'id' | 'dueAt'> }[]; hasNextPage: boolean }> {
  const { afterSales, evidenceRequests } = db.t;
  const shape = shapeOf(page.filter, page.after != null);
  const select = db.prepared(`afterSales.awaiting:${shapeKey(shape)}`, () => {
    const where = awaitingConditions(db, shape);
    if (shape.after) {
      const dueAt = sql.placeholder('afterDueAt');
      where.push(or(gt(evidenceRequests.dueAt, dueAt), and(eq(evidenceRequests.dueAt, dueAt), gt(evidenceRequests.id, sql.placeholder('afterId'))))!);
    }
    return db.q
      .select({ request: { id: evidenceRequests.id, dueAt: evidenceRequests.dueAt }, afterSale: afterSales })
      .from(evidenceRequests)
      .innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId))
      .where(and(...where))
      .orderBy(asc(evidenceRequests.dueAt), asc(evidenceRequests.id))
      .limit(sql.placeholder('limit'));
  });
  const rows = await select.execute({
    ...awaitingValues(merchantId, page.filter, now),
    afterDueAt: page.after?.dueAt ?? null,
    afterId: page.after?.requestId ?? null,
    limit: page.first + 1,
  });
  return { rows: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
}

export async function countAwaitingEvidence(db: Db, merchantId: string, filter: AwaitingEvidenceFilter, now: number): Promise<number> {
  const { afterSales, evidenceRequests, merchants } = db.t;
  const shape = shapeOf(filter, false);
  if (!shape.dueWithin && !filtersAfterSale(shape)) {
    // Unfiltered: the count the rules keep (src/db/rounds.ts: countOpened), one row read. Counting the open
    // rounds' index instead visits each row whose heap page a write has touched since the last vacuum:
    // on PostgreSQL during a deadline catch-up, 20,000 of them a page (bench/count-plan.ts).
    const kept = db.prepared('afterSales.awaitingCount:kept', () =>
      db.q.select({ n: merchants.openRounds }).from(merchants).where(eq(merchants.id, sql.placeholder('merchantId'))),
    );
    const [row] = await kept.execute({ merchantId });
    return row?.n ?? 0;
  }
  const select = db.prepared(`afterSales.awaitingCount:${shapeKey(shape)}`, () => {
    const query = db.q.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(evidenceRequests).$dynamic();
    // Every round has its after-sale (a NOT NULL foreign key), so the join changes no count; without it
    // the count reads only the workbench index instead of two table rows per round (12 ms -> 0.1 ms at 5,000 rounds).
    if (filtersAfterSale(shape)) query.innerJoin(afterSales, eq(afterSales.id, evidenceRequests.afterSaleId));
    return query.where(and(...awaitingConditions(db, shape)));
  });
  const [row] = await select.execute(awaitingValues(merchantId, filter, now));
  return row!.n;
}

/** The id of the after-sale with this number (numbers are unique across shops), or null. */
export async function afterSaleIdByNumber(db: Db, number: string): Promise<number | null> {
  const { afterSales } = db.t;
  const [row] = await db.q.select({ id: afterSales.id }).from(afterSales).where(eq(afterSales.number, number));
  return row?.id ?? null;
}

export async function hasAnyAfterSale(db: Db): Promise<boolean> {
  const { afterSales } = db.t;
  return (await db.q.select({ id: afterSales.id }).from(afterSales).limit(1)).length > 0;
}

/** The shop whose open round falls due first, or null when no round is open: whom the start-up warm-up reads as. */
export async function shopWithNearestDeadline(db: Db): Promise<string | null> {
  const { evidenceRequests } = db.t;
  const [row] = await db.q
    .select({ merchantId: evidenceRequests.merchantId })
    .from(evidenceRequests)
    .where(isOpen(evidenceRequests))
    .orderBy(asc(evidenceRequests.dueAt))
    .limit(1);
  return row?.merchantId ?? null;
}
