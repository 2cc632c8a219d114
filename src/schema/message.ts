import { countMessages, listMessages, markMessagesRead } from '../db/messages.ts';
import type { MessageRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { AfterSaleRef } from './after-sale.ts';
import { MessageKindEnum } from './enums.ts';
import { connectionPage, decodeCursor, encodeCursor, pageSize } from './connections.ts';
import { badInput } from './errors.ts';
import { rowId, rowNumber } from './ids.ts';
import { merchantOf } from './viewer.ts';

export const MessageRef = builder.objectRef<MessageRow>('Message');

builder.node(MessageRef, {
  description: 'A message in the merchant\'s message box (消息盒子).',
  id: { resolve: (row) => row.id, parse: rowNumber },
  loadOne: (id, ctx) => ctx.loaders.message.load(id),
  fields: (t) => ({
    kind: t.expose('kind', { type: MessageKindEnum, description: 'What the message is about.' }),
    title: t.exposeString('title', { description: 'A short headline.' }),
    body: t.exposeString('body', { description: 'The message text, naming the after-sale and its deadline.' }),
    afterSale: t.field({
      type: AfterSaleRef,
      description: 'The after-sale it is about.',
      resolve: async (row, _args, ctx) => (await ctx.loaders.afterSale.load(row.afterSaleId))!,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was sent.' }),
    readAt: t.expose('readAt', { type: 'DateTime', nullable: true, description: 'When it was marked read; null while unread.' }),
  }),
});

/** A message's place in the box: replay and paging both continue from it. */
export function messageCursor(row: MessageRow): string {
  return encodeCursor(['msg', row.id]);
}

export function messageIdOfCursor(cursor: string): number {
  return decodeCursor(cursor, 'msg', 1)[0]!;
}

const MessageConnection = builder.connectionObject(
  {
    type: MessageRef,
    name: 'MessageConnection',
    description: 'A page of messages, newest first.',
    fields: (t) => ({
      totalCount: t.int({
        description: 'How many messages match in all pages.',
        resolve: (conn) => (conn as unknown as { totalCount: () => Promise<number> }).totalCount(),
      }),
    }),
  },
  { name: 'MessageEdge', description: 'A message in a page, with its cursor.' },
);

builder.queryFields((t) => ({
  messages: t.field({
    type: MessageConnection,
    authScopes: { merchant: true },
    description: 'The signed-in merchant\'s message box (消息盒子), newest first.',
    args: {
      first: t.arg.int({ description: 'Page size: 20 by default, at most 100.' }),
      after: t.arg.string({ description: 'A cursor from an earlier page: continue with older messages.' }),
      unreadOnly: t.arg.boolean({ description: 'Only messages not yet marked read.' }),
    },
    resolve: async (_root, args, ctx) => {
      const merchantId = merchantOf(ctx);
      const beforeId = args.after ? messageIdOfCursor(args.after) : null;
      const unreadOnly = args.unreadOnly ?? false;
      const page = await listMessages(ctx.services.db, merchantId, { first: pageSize(args.first), beforeId, unreadOnly });
      const edges = page.rows.map((row) => ({ cursor: messageCursor(row), node: row }));
      return {
        ...connectionPage(edges, page.hasNextPage, beforeId != null),
        totalCount: () => countMessages(ctx.services.db, merchantId, unreadOnly),
      };
    },
  }),
  unreadMessageCount: t.int({
    authScopes: { merchant: true },
    description: 'How many of the signed-in merchant\'s messages are unread: the badge on the message box.',
    resolve: (_root, _args, ctx) => countMessages(ctx.services.db, merchantOf(ctx), true),
  }),
}));

builder.mutationFields((t) => ({
  markMessagesRead: t.int({
    authScopes: { merchant: true },
    description: 'Merchant: marks the given messages read. Returns how many changed (already read, unknown or other shops\' IDs count 0).',
    args: { ids: t.arg.globalIDList({ required: true, description: 'Message IDs, at most 100.' }) },
    resolve: (_root, { ids }, ctx) => {
      if (ids.length > 100) throw badInput('At most 100 ids at once');
      const local = ids.map((id) => rowId(id, 'Message')).filter((id) => id !== 0);
      return markMessagesRead(ctx.services.db, merchantOf(ctx), local, ctx.services.clock.now());
    },
  }),
}));
