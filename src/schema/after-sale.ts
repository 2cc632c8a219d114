import { afterSaleIdByNumber, countAwaitingEvidence, listAwaitingEvidence, recordAfterSale } from '../db/after-sales.ts';
import { InvalidInputError } from '../db/errors.ts';
import type { AfterSaleRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { actorOf, merchantOf } from './viewer.ts';
import { AfterSaleStatusEnum, AfterSaleTypeEnum, DecidedByEnum, OutcomeEnum } from './enums.ts';
import { EvidenceRequestRef } from './evidence.ts';
import { connectionPage, decodeCursor, encodeCursor, pageSize } from './connections.ts';
import { badInput } from './errors.ts';
import { rowId, rowNumber } from './ids.ts';
import { AfterSaleLogConnection, logsConnection } from './log.ts';

export const AfterSaleRef = builder.objectRef<AfterSaleRow>('AfterSale');

builder.node(AfterSaleRef, {
  description: '售后单: an after-sale the buyer escalated to the platform. Merchants see their own shop\'s only.',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: (id, ctx) => ctx.loaders.afterSale.load(id),
  fields: (t) => ({
    number: t.exposeString('number', { description: 'The after-sale number (售后单号), unique on the platform.' }),
    orderNumber: t.exposeString('orderNumber', { description: 'The order the after-sale belongs to.' }),
    merchantId: t.exposeString('merchantId', { description: 'The shop the after-sale belongs to.' }),
    type: t.expose('type', { type: AfterSaleTypeEnum, description: 'What the buyer asked for.' }),
    reason: t.exposeString('reason', { description: 'The buyer\'s stated reason (售后原因).' }),
    buyerClaim: t.exposeString('buyerClaim', { description: 'The buyer\'s own words on why the platform should intervene.' }),
    amountCents: t.exposeInt('amountCents', { description: 'The refund amount claimed, in fen (1/100 yuan).' }),
    status: t.expose('status', { type: AfterSaleStatusEnum, description: 'Where the after-sale stands now.' }),
    appliedAt: t.expose('appliedAt', { type: 'DateTime', description: 'When the buyer applied for the after-sale.' }),
    evidenceRequest: t.field({
      type: EvidenceRequestRef,
      nullable: true,
      description: 'The newest evidence round, open or not; null if the platform never asked.',
      resolve: async (row, _args, ctx) => (await ctx.loaders.requestsOfAfterSale.load(row.id)).at(-1) ?? null,
    }),
    evidenceRequests: t.field({
      type: [EvidenceRequestRef],
      description: 'Every evidence round, oldest first.',
      resolve: (row, _args, ctx) => ctx.loaders.requestsOfAfterSale.load(row.id),
    }),
    resolution: t.field({
      type: ResolutionRef,
      nullable: true,
      description: 'The decision, once the after-sale is RESOLVED; null before.',
      resolve: (row) => (row.status === 'RESOLVED' ? row : null),
    }),
    logs: t.field({
      type: AfterSaleLogConnection,
      description: '售后日志: every step of the after-sale and who took it, oldest first.',
      args: {
        first: t.arg.int({ description: 'Page size: 20 by default, at most 100.' }),
        after: t.arg.string({ description: 'A cursor from an earlier page: continue after it.' }),
      },
      resolve: (row, args, ctx) => logsConnection(row.id, args, ctx),
    }),
  }),
});

const ResolutionRef = builder.objectRef<AfterSaleRow>('Resolution').implement({
  description: 'How an after-sale was decided.',
  fields: (t) => ({
    outcome: t.field({ type: OutcomeEnum, description: 'Whom the decision favoured.', resolve: (row) => row.outcome! }),
    decidedBy: t.field({ type: DecidedByEnum, description: 'The platform, or the system at a missed deadline.', resolve: (row) => row.decidedBy! }),
    decidedAt: t.field({ type: 'DateTime', description: 'When it was decided.', resolve: (row) => row.decidedAt! }),
    opinion: t.exposeString('opinion', { nullable: true, description: 'The platform\'s written reasoning, if it gave one.' }),
  }),
});

const AwaitingEvidenceFilter = builder.inputType('AwaitingEvidenceFilter', {
  description: 'Narrows the workbench list. All given conditions must hold.',
  fields: (t) => ({
    dueWithinHours: t.float({ description: 'Only rounds due at most this many hours from now (0 or more).' }),
    search: t.string({ description: 'An after-sale number or order number, exact or a prefix of it, ignoring case (numbers are ASCII); at most 64 characters. % and _ match themselves.' }),
    type: t.field({ type: AfterSaleTypeEnum, description: 'Only after-sales of this type.' }),
    appliedAfter: t.field({ type: 'DateTime', description: 'Only after-sales applied for at or after this instant.' }),
    appliedBefore: t.field({ type: 'DateTime', description: 'Only after-sales applied for before this instant.' }),
  }),
});

const AfterSaleConnection = builder.connectionObject(
  {
    type: AfterSaleRef,
    name: 'AfterSaleConnection',
    description: 'A page of after-sales.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many after-sales match the filter in all pages.',
        resolve: (conn) => (conn as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'AfterSaleEdge', description: 'An after-sale in a page, with its cursor.' },
);

builder.queryFields((t) => ({
  awaitingEvidence: t.field({
    type: AfterSaleConnection,
    authScopes: { merchant: true },
    description: 'After-sales of the signed-in merchant waiting for its evidence (待商家举证), nearest deadline first.',
    args: {
      first: t.arg.int({ description: 'Page size: 20 by default, at most 100.' }),
      after: t.arg.string({ description: 'A cursor from an earlier page: continue after it.' }),
      filter: t.arg({ type: AwaitingEvidenceFilter, description: 'Optional conditions; all must hold.' }),
    },
    resolve: async (_root, args, ctx) => {
      const merchantId = merchantOf(ctx);
      const now = ctx.services.clock.now();
      const f = args.filter ?? {};
      if (f.dueWithinHours != null && !(f.dueWithinHours >= 0 && f.dueWithinHours <= 24 * 366)) {
        throw badInput('filter.dueWithinHours must be between 0 and 8784');
      }
      // Numbers are at most 64 characters, so a longer search can match nothing.
      if (f.search != null && f.search.trim().length > 64) throw badInput('filter.search must be at most 64 characters');
      const filter = {
        dueWithinMs: f.dueWithinHours == null ? null : Math.round(f.dueWithinHours * 3_600_000),
        search: f.search,
        type: f.type,
        appliedAfter: f.appliedAfter?.getTime(),
        appliedBefore: f.appliedBefore?.getTime(),
      };
      const after = args.after ? decodeCursor(args.after, 'due', 2) : null;
      const page = await listAwaitingEvidence(
        ctx.services.db,
        merchantId,
        { first: pageSize(args.first), after: after && { dueAt: after[0]!, requestId: after[1]! }, filter },
        now,
      );
      const edges = page.rows.map(({ afterSale, request }) => {
        ctx.loaders.afterSale.prime(afterSale.id, afterSale);
        return { cursor: encodeCursor(['due', request.dueAt, request.id]), node: afterSale };
      });
      return {
        ...connectionPage(edges, page.hasNextPage, after != null),
        totalCount: () => countAwaitingEvidence(ctx.services.db, merchantId, filter, now),
      };
    },
  }),
  afterSale: t.field({
    type: AfterSaleRef,
    nullable: true,
    authScopes: { signedIn: true },
    description: 'One after-sale by its ID: any for the platform, the own shop\'s for a merchant; null otherwise.',
    args: { id: t.arg.globalID({ required: true, description: 'The after-sale\'s global ID.' }) },
    resolve: (_root, args, ctx) => {
      const id = rowId(args.id, 'AfterSale');
      return id ? ctx.loaders.afterSale.load(id) : null;
    },
  }),
  afterSaleByNumber: t.field({
    type: AfterSaleRef,
    nullable: true,
    authScopes: { signedIn: true },
    description:
      'One after-sale by its after-sale number (unique across shops), as the platform console finds it: any for the platform, the own shop\'s for a merchant; null otherwise.',
    args: { number: t.arg.string({ required: true, description: 'The after-sale number, exactly.' }) },
    resolve: async (_root, args, ctx) => {
      const id = await afterSaleIdByNumber(ctx.services.db, args.number.trim());
      // The loader answers null for another shop's after-sale, as for an unknown number.
      return id == null ? null : ctx.loaders.afterSale.load(id);
    },
  }),
}));

const RecordAfterSaleInput = builder.inputType('RecordAfterSaleInput', {
  description: 'An after-sale the buyer escalated, as the upstream after-sales system knows it.',
  fields: (t) => ({
    merchantId: t.string({ required: true, description: 'The shop it belongs to (created on first use).' }),
    number: t.string({ required: true, description: 'The after-sale number; the key that makes this call idempotent.' }),
    orderNumber: t.string({ required: true, description: 'The order number.' }),
    type: t.field({ type: AfterSaleTypeEnum, required: true, description: 'What the buyer asked for.' }),
    reason: t.string({ required: true, description: 'The buyer\'s stated reason, 1 to 200 characters.' }),
    buyerClaim: t.string({ required: true, description: 'The buyer\'s claim, 1 to 2,000 characters.' }),
    amountCents: t.int({ required: true, description: 'The refund amount in fen, zero or more.' }),
    appliedAt: t.field({ type: 'DateTime', description: 'When the buyer applied; now if left out.' }),
  }),
});

const RecordAfterSalePayload = builder.objectRef<{ afterSale: AfterSaleRow; created: boolean }>('RecordAfterSalePayload').implement({
  description: 'The stored after-sale.',
  fields: (t) => ({
    afterSale: t.field({ type: AfterSaleRef, description: 'The after-sale, new or as stored before.', resolve: (p) => p.afterSale }),
    created: t.exposeBoolean('created', { description: 'False when this number was already recorded (nothing changed).' }),
  }),
});

builder.mutationFields((t) => ({
  recordAfterSale: t.field({
    type: RecordAfterSalePayload,
    authScopes: { platform: true },
    description: 'Platform: stores an after-sale escalated to the platform (PLATFORM_INTERVENING). The same number again returns the stored after-sale unchanged.',
    errors: { types: [InvalidInputError], union: { name: 'RecordAfterSaleResult', description: 'The stored after-sale, or why not.' } },
    args: { input: t.arg({ type: RecordAfterSaleInput, required: true, description: 'The after-sale.' }) },
    resolve: (_root, { input }, ctx) => {
      return recordAfterSale(ctx.services.db, input, actorOf(ctx), ctx.services.clock.now());
    },
  }),
}));
