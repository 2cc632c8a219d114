import { GraphQLError } from 'graphql';
import { Repeater } from 'graphql-yoga';
import { createLoaders, type Context } from '../context.ts';
import { logsAfter, newestLogId } from '../db/logs.ts';
import { countMessages, messagesAfter, newestMessageId } from '../db/messages.ts';
import type { AfterSaleLogRow, MessageRow } from '../db/schema.ts';
import { builder } from './builder.ts';
import { localId } from './ids.ts';
import { AfterSaleLogRef } from './log.ts';
import { messageCursor, messageIdOfCursor, MessageRef } from './message.ts';
import { merchantOf } from './viewer.ts';

/** Messages read per statement while replaying; exported for the test that spans several batches. */
export const REPLAY_BATCH = 200;

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
 * Rows after `afterId` (without one: those written from now on), oldest first,
 * for as long as the client listens. The database is the feed and a live event
 * only says "look again", so replay and live are one loop reading after the
 * last row sent: no gap and no duplicate between them, and a client that reads
 * slowly holds a cursor, not a growing queue. A Repeater, not an async
 * generator, so that a client's `complete` stops it at once instead of after
 * the next event.
 */
function databaseFeed<T extends { id: number }>(source: {
  listen: (wake: () => void) => () => void;
  readAfter: (lastId: number, limit: number) => Promise<T[]>;
  newestId: () => Promise<number>;
  afterId: number | null;
}): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    let stopped = false;
    let changed = true;
    let wake = () => {};
    // Listening starts before the first read, so a commit after any read is looked for again.
    const unlisten = source.listen(() => {
      changed = true;
      wake();
    });
    void stop.then(() => {
      stopped = true;
      wake();
    });
    try {
      let last = source.afterId ?? (await source.newestId());
      while (!stopped) {
        if (!changed) await new Promise<void>((resolve) => (wake = resolve));
        changed = false;
        let batch: T[];
        do {
          batch = await source.readAfter(last, REPLAY_BATCH);
          for (const row of batch) {
            if (stopped) return;
            last = row.id;
            await push(row);
          }
        } while (batch.length === REPLAY_BATCH);
      }
    } finally {
      unlisten();
    }
  });
}

/**
 * A subscription keeps one context for its whole life, and its loaders would
 * answer every later event from the first event's cache (an after-sale still
 * awaiting evidence after it expired). Each event starts with fresh loaders;
 * the events of one subscription are resolved one at a time.
 */
function freshLoaders(ctx: Context): void {
  ctx.loaders = createLoaders(ctx.services.db, ctx.viewer);
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
      const { db, events } = ctx.services;
      return databaseFeed<MessageRow>({
        listen: (wake) => events.listen('message', merchantId, wake),
        readAfter: (lastId, limit) => messagesAfter(db, merchantId, lastId, limit),
        newestId: () => newestMessageId(db, merchantId),
        afterId: args.after ? messageIdOfCursor(args.after) : null,
      });
    },
    resolve: async (message, _args, ctx) => {
      freshLoaders(ctx);
      return { message, unreadCount: await countMessages(ctx.services.db, message.merchantId, true) };
    },
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
      const afterSaleId = id;
      const { db, events } = ctx.services;
      return databaseFeed<AfterSaleLogRow>({
        listen: (wake) => events.listen('log', afterSaleId, wake),
        readAfter: (lastId, limit) => logsAfter(db, afterSaleId, lastId, limit),
        newestId: () => newestLogId(db, afterSaleId),
        afterId: null,
      });
    },
    resolve: (log, _args, ctx) => {
      freshLoaders(ctx);
      return log;
    },
  }),
}));
