import type { Context } from '../context.ts';
import type { AfterSaleLogRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { rowNumber } from './ids.ts';
import { LogActionEnum, LogActorEnum } from './enums.ts';
import { connectionPage, decodeCursor, encodeCursor, pageSize } from './connections.ts';

export const AfterSaleLogRef = builder.objectRef<AfterSaleLogRow>('AfterSaleLog');

builder.node(AfterSaleLogRef, {
  description: 'One line of an after-sale\'s log (售后日志).',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: async (id, ctx) => {
    const row = await ctx.loaders.log.load(id);
    // A log line is visible exactly when its after-sale is.
    return row && (await ctx.loaders.afterSale.load(row.afterSaleId)) ? row : null;
  },
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When it happened.' }),
    actor: t.expose('actor', { type: LogActorEnum, description: 'Which side acted.' }),
    actorId: t.exposeString('actorId', {
      nullable: true,
      description: 'The person or system that acted (a staff member\'s or agent\'s token subject); null for the buyer.',
    }),
    action: t.expose('action', { type: LogActionEnum, description: 'What happened.' }),
    summary: t.exposeString('summary', { description: 'A readable account; for submissions it names each file and its SHA-256.' }),
  }),
});

export const AfterSaleLogConnection = builder.connectionObject(
  {
    type: AfterSaleLogRef,
    name: 'AfterSaleLogConnection',
    description: 'A page of log lines, oldest first.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many log lines the after-sale has in all.',
        resolve: (conn, _args, ctx) => ctx.loaders.logCount.load((conn as unknown as { afterSaleId: number }).afterSaleId),
      }),
    }),
  },
  { name: 'AfterSaleLogEdge', description: 'A log line in a page, with its cursor.' },
);

export async function logsConnection(afterSaleId: number, args: { first?: number | null; after?: string | null }, ctx: Context) {
  const afterId = args.after ? decodeCursor(args.after, 'log', 1)[0]! : null;
  const page = await ctx.loaders.logPage.load({ afterSaleId, first: pageSize(args.first), afterId });
  const edges = page.rows.map((row) => ({ cursor: encodeCursor(['log', row.id]), node: row }));
  return {
    afterSaleId,
    ...connectionPage(edges, page.hasNextPage, afterId != null),
  };
}
