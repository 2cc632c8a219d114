import { GraphQLError } from 'graphql';
import type { Context } from '../context.ts';
import { countMessages, messagesAfter } from '../db/messages.ts';
import type { AfterSaleLogRow, MessageRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { localId } from './ids.ts';
import { AfterSaleLogRef } from './log.ts';
import { messageCursor, messageIdOfCursor, MessageRef } from './message.ts';
import { merchantOf } from './viewer.ts';

const REPLAY_BATCH = 200;

const MessageBoxEvent = builder.objectRef<{ message: MessageRow; unreadCount: number }>('MessageBoxEvent').implement({
  description: 'One message pushed to the live message box.',
  fields: (t) => ({
    cursor: t.string({
      description: 'Where this message stands; pass it as `after` when reconnecting to get exactly what came since.',
      resolve: (e) => messageCursor(e.message),
    }),
    message: t.field({ type: MessageRef, description: 'The message.', resolve: (e) => e.message }),
    unreadCount: t.exposeInt('unreadCount', { description: 'The shop\'s unread count at the moment this event was sent.' }),
  }),
});

/**
 * The shop's messages after `afterId` from the database, then live ones, with
 * no gap and no duplicate: the live feed is listening before the replay reads,
 * and anything the replay already sent is skipped.
 */
async function* messageFeed(ctx: Context, merchantId: string, afterId: number | null): AsyncGenerator<MessageRow> {
  const live = ctx.services.events.subscribe('message', merchantId)[Symbol.asyncIterator]();
  const firstLive = live.next(); // starts listening now
  try {
    let last = afterId;
    if (last != null) {
      for (;;) {
        const batch = messagesAfter(ctx.services.db, merchantId, last, REPLAY_BATCH);
        for (const message of batch) {
          last = message.id;
          yield message;
        }
        if (batch.length < REPLAY_BATCH) break;
      }
    }
    for (let next = await firstLive; !next.done; next = await live.next()) {
      if (last != null && next.value.id <= last) continue;
      last = next.value.id;
      yield next.value;
    }
  } finally {
    await live.return?.();
  }
}

builder.subscriptionFields((t) => ({
  messageBox: t.field({
    type: MessageBoxEvent,
    authScopes: { merchant: true },
    description:
      'Live message box of the signed-in merchant. With `after` (a cursor from an earlier event or from `messages`), first replays every message created after it, in order, then goes on live.',
    args: { after: t.arg.string({ description: 'Replay everything after this message cursor first.' }) },
    subscribe: (_root, args, ctx) => {
      const merchantId = merchantOf(ctx);
      return messageFeed(ctx, merchantId, args.after ? messageIdOfCursor(args.after) : null);
    },
    resolve: (message, _args, ctx) => ({ message, unreadCount: countMessages(ctx.services.db, message.merchantId, true) }),
  }),
  afterSaleLogAdded: t.field({
    type: AfterSaleLogRef,
    authScopes: { signedIn: true },
    description: 'New log lines of one after-sale the viewer may see, as they are written.',
    args: { afterSaleId: t.arg.id({ required: true, description: 'The after-sale to follow.' }) },
    subscribe: async (_root, args, ctx) => {
      let id: number | null = null;
      try {
        id = localId(args.afterSaleId, 'AfterSale');
      } catch {
        // unknown ids are answered below like another shop's
      }
      if (id == null || !(await ctx.loaders.afterSale.load(id))) {
        throw new GraphQLError('No after-sale with this id exists, or you may not see it', { extensions: { code: 'NOT_FOUND' } });
      }
      return ctx.services.events.subscribe('log', id) as AsyncIterable<AfterSaleLogRow>;
    },
    resolve: (log) => log,
  }),
}));
