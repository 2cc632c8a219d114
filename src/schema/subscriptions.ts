import { RequestCache } from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import type { Context, Services } from '../context.ts';
import { logsAfter, newestLogId } from '../db/logs.ts';
import { countMessages, messagesAfter, newestMessageId } from '../db/messages.ts';
import type { AfterSaleLogRow, MessageRow } from '../db/schema.ts';
import { Feeds, perInstance, type FeedItem } from '../feeds.ts';
import { builder } from './builder.ts';
import { rowId } from './ids.ts';
import { AfterSaleLogRef } from './log.ts';
import { messageCursor, messageIdOfCursor, MessageRef } from './message.ts';
import { merchantOf } from './viewer.ts';

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

/** Every shop's message box on one instance, keyed by merchant id. */
const messageFeeds = perInstance(
  (services: Services) =>
    new Feeds<string, MessageRow>({
      listen: (merchantId, wake) => services.events.listen('message', merchantId, wake),
      readAfter: (merchantId, lastId, limit) => messagesAfter(services.db, merchantId, lastId, limit),
      newestId: (merchantId) => newestMessageId(services.db, merchantId),
    }),
);

/** Every after-sale's log on one instance, keyed by after-sale id. */
const logFeeds = perInstance(
  (services: Services) =>
    new Feeds<number, AfterSaleLogRow>({
      listen: (afterSaleId, wake) => services.events.listen('log', afterSaleId, wake),
      readAfter: (afterSaleId, lastId, limit) => logsAfter(services.db, afterSaleId, lastId, limit),
      newestId: (afterSaleId) => newestLogId(services.db, afterSaleId),
    }),
);

/**
 * Between events a subscription needs no loaders, and most sockets of a shop
 * never resolve an event themselves (one does for all, see
 * src/shared-execution.ts); each event that is resolved gets fresh ones
 * (eventContext in src/context.ts). The context drops the ones it was made
 * with once subscribed.
 */
function dropLoaders(ctx: Context): void {
  // Set, not deleted: the context keeps its compact layout.
  (ctx as { loaders?: Context['loaders'] }).loaders = undefined;
}

/**
 * The scope checks of subscribing are done when its `subscribe` runs; what
 * they cached (scope-auth's maps, a few hundred bytes a subscription) is made
 * again if an event's fields ask, and is otherwise not kept for the
 * subscription's life.
 */
function dropScopeCache(ctx: Context): void {
  RequestCache.clearForContext(ctx);
}

builder.subscriptionFields((t) => ({
  messageBox: t.field({
    type: MessageBoxEvent,
    authScopes: { merchant: true },
    description:
      'Live message box of the signed-in merchant. With `after` (a cursor from an earlier event or from `messages`), first replays every message created after it, in order, then goes on live.',
    args: { after: t.arg.string({ description: 'Replay everything after this message cursor first.' }) },
    subscribe: (_root, args, ctx) => {
      const afterId = args.after ? messageIdOfCursor(args.after) : null;
      dropLoaders(ctx);
      dropScopeCache(ctx);
      return messageFeeds(ctx.services).follow(merchantOf(ctx), afterId);
    },
    resolve: async ({ row: message, read }: FeedItem<MessageRow>, _args, ctx) => {
      // Every socket of the shop that gets this message from this read gets the count taken for the first.
      const unreadCount = await read.once(`unread:${message.id}`, () => countMessages(ctx.services.db, message.merchantId, true));
      return { message, unreadCount };
    },
  }),
  afterSaleLogAdded: t.field({
    type: AfterSaleLogRef,
    authScopes: { signedIn: true },
    description: 'New log lines of one after-sale the viewer may see, as they are written.',
    args: { afterSaleId: t.arg.globalID({ required: true, description: 'The after-sale to follow.' }) },
    subscribe: async (_root, args, ctx) => {
      const id = rowId(args.afterSaleId, 'AfterSale');
      if (!id || !(await ctx.loaders.afterSale.load(id))) {
        throw new GraphQLError('No after-sale with this id exists, or you may not see it', { extensions: { code: 'NOT_FOUND' } });
      }
      dropLoaders(ctx);
      dropScopeCache(ctx);
      return logFeeds(ctx.services).follow(id, null);
    },
    resolve: ({ row }: FeedItem<AfterSaleLogRow>) => row,
  }),
}));
