import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCase, startServer, type TestServer } from './helpers.ts';
import { createMessages, messageList, MESSAGE_BOX, resolveCase, type BoxEvent } from './message-box.ts';
import { connect, type Feed, type Socket } from './ws-client.ts';

const LOG_ADDED = `subscription Logs($id: ID!) { afterSaleLogAdded(afterSaleId: $id) { id action actor } }`;

let server: TestServer;
let counting = false;
let statements: string[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  server = await startServer({}, { onStatement: (sql) => counting && statements.push(sql) });
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await server.stop();
});

function open(token: string): Socket {
  const socket = connect(server.url, token);
  sockets.push(socket);
  return socket;
}

const events = (feed: Feed) => feed.results.map((r) => (r.data as BoxEvent).messageBox);

/** Waits until every feed has `count` events. */
async function allReceived(feeds: Feed[], count: number, ms = 15_000) {
  await Promise.all(feeds.map((f) => f.received(count, ms)));
}

/**
 * The cross-process relay's look for rows other processes wrote (every shop's,
 * after an id, once a RELAY_INTERVAL): not a read of the feeds, and it falls
 * into a slow test's window.
 */
const byRelay = (sql: string) => /\bwhere\s+"?\w+"?\."?id"?\s*>/i.test(sql);
const feedStatements = (all: string[]) => all.filter((s) => !byRelay(s));

/** Reads of one table's rows by the feeds: `select ... from "messages"` (either database's quoting). */
const readsOf = (table: string) =>
  feedStatements(statements).filter((s) => /^\s*select\b/i.test(s) && new RegExp(`\\bfrom\\s+["\`]?${table}["\`]?`, 'i').test(s));

describe('fan-out to many sockets of one shop', () => {
  /** Statements while `count` messages are written one by one to a shop with `socketCount` open message boxes, each delivered to all. */
  async function statementsFor(merchantId: string, socketCount: number, count: number) {
    const token = await server.merchantToken(merchantId);
    const opened = Array.from({ length: socketCount }, () => open(token));
    const feeds = opened.map((s) => s.subscribe(MESSAGE_BOX));
    await Promise.all(opened.map((s) => s.roundTrip()));
    // A first message shows every box is live (on PostgreSQL a subscription reads its start asynchronously).
    await createMessages(server, merchantId, 1);
    await allReceived(feeds, 1);
    statements = [];
    counting = true;
    for (let n = 2; n <= count + 1; n++) {
      await createMessages(server, merchantId, 1);
      await allReceived(feeds, n);
    }
    counting = false;
    return { feeds, token, statements: [...statements] };
  }

  it('reads the messages once and counts the unread once per event, however many sockets of the shop are open, and all get the same event', async () => {
    const EVENTS = 4;
    const one = await statementsFor('shop-alone', 1, EVENTS);
    const { feeds, token } = await statementsFor('shop-crowd', 50, EVENTS);

    const list = await messageList(server, token);
    expect(list).toHaveLength(EVENTS + 1);
    for (const feed of feeds) expect(events(feed).map((e) => e.message.id)).toEqual(list.map((m) => m.id));
    // The same message at the same moment: one count for every socket.
    for (let i = 0; i <= EVENTS; i++) expect(new Set(feeds.map((f) => events(f)[i]!.unreadCount))).toEqual(new Set([i + 1]));

    const messageReads = readsOf('messages');
    const counts = messageReads.filter((s) => /count\(/i.test(s));
    console.log(`${EVENTS} events: ${messageReads.length} reads of messages (${counts.length} counts) and ${statements.length} statements in all for 50 sockets, ${one.statements.length} for one`);
    expect(messageReads.length - counts.length).toBeLessThanOrEqual(EVENTS);
    expect(counts.length).toBeLessThanOrEqual(EVENTS);
    // Nothing else is read per socket either (the event's after-sale, say): 50 sockets cost what one does.
    expect(feedStatements(statements).length).toBeLessThanOrEqual(feedStatements(one.statements).length);
  });

  it('reads the log lines once per event for every socket following one after-sale, merchant and platform alike', async () => {
    const merchant = await server.merchantToken('shop-followed');
    const platform = await server.platformToken();
    const { afterSaleId, requestId } = await openCase(server, 'shop-followed');
    const opened = Array.from({ length: 30 }, (_, i) => open(i % 2 ? merchant : platform));
    const feeds = opened.map((s) => s.subscribe(LOG_ADDED, { id: afterSaleId }));
    await Promise.all(opened.map((s) => s.roundTrip()));
    // On PostgreSQL a subscription checks the after-sale asynchronously, so one may start after this first line and
    // not get it (a log feed has no replay); waiting for it, or two seconds, leaves every feed listening.
    const cancelled = await server.gql(platform, `mutation($id: ID!) { cancelEvidenceRequest(evidenceRequestId: $id) { __typename } }`, { id: requestId });
    expect(cancelled.data!.cancelEvidenceRequest.__typename).toBe('CancelEvidenceRequestPayload');
    await Promise.all(feeds.map((f) => f.next(2000).catch(() => null)));
    expect(feeds.some((f) => f.results.length === 1)).toBe(true);

    statements = [];
    counting = true;
    await resolveCase(server, afterSaleId);
    for (const feed of feeds) {
      const last = await feed.nextData();
      expect(last.afterSaleLogAdded).toMatchObject({ action: 'ARBITRATION_RESOLVED', actor: 'PLATFORM' });
    }
    counting = false;

    expect(readsOf('after_sale_logs').length).toBeLessThanOrEqual(1);
  });

  it('misses nothing and repeats nothing for sockets that join, lag and leave while messages are being written', async () => {
    const token = await server.merchantToken('shop-churn');
    await createMessages(server, 'shop-churn', 3);
    const joined: { feed: Feed; after: string | null; socket: Socket }[] = [];
    const join = (after: string | null) => {
      const socket = open(token);
      const feed = socket.subscribe(MESSAGE_BOX, after ? { after } : undefined);
      joined.push({ feed, after, socket });
      return { socket, feed };
    };
    const live = join(null);
    await live.socket.roundTrip();
    const laggard = join((await messageList(server, token))[0]!.cursor);
    await laggard.feed.next();
    laggard.socket.pause();
    let leaver: Feed | undefined;

    for (let round = 0; round < 6; round++) {
      // Each round: messages are written while sockets join after cursors old and new, and one leaves.
      const writing = createMessages(server, 'shop-churn', 7);
      const known = await messageList(server, token);
      join(known[Math.floor(known.length / 2)]!.cursor);
      join(known.at(-1)!.cursor);
      if (round === 1) leaver = join(known[0]!.cursor).feed;
      if (round === 3) leaver!.unsubscribe();
      if (round === 4) laggard.socket.resume();
      await writing;
    }
    laggard.socket.resume();

    const list = await messageList(server, token);
    const all = list.map((m) => m.id);
    expect(all).toHaveLength(3 + 6 * 7);
    for (const { feed, after } of joined) {
      if (feed === leaver) continue;
      if (after) {
        const start = list.findIndex((m) => m.cursor === after) + 1;
        await feed.received(all.length - start, 15_000);
        expect(events(feed).map((e) => e.message.id)).toEqual(all.slice(start));
      } else {
        // Without a cursor a socket gets what came after it subscribed: a run of the list to its end.
        const got = (await untilLast(feed, all.at(-1)!)).map((e) => e.message.id);
        expect(got).toEqual(all.slice(all.indexOf(got[0]!)));
      }
    }
    // The one that left got a run without a gap or a repeat, from its cursor on.
    const left = events(leaver!).map((e) => e.message.id);
    expect(left).toEqual(all.slice(1, 1 + left.length));
  });
});

async function untilLast(feed: Feed, lastId: string) {
  const deadline = Date.now() + 15_000;
  while (events(feed).at(-1)?.message.id !== lastId) {
    if (Date.now() > deadline) throw new Error('the last message did not arrive');
    await feed.next(15_000);
  }
  return events(feed);
}

describe('frames sent straight from a shared read', () => {
  it('gives each subscription of a socket its own selection under its own id, and nothing to one it completed', async () => {
    const merchantId = 'shop-frames';
    const token = await server.merchantToken(merchantId);
    const first = open(token);
    const second = open(token);
    const full = first.subscribe(MESSAGE_BOX);
    const brief = first.subscribe(`subscription Brief { messageBox { unreadCount message { kind } } }`);
    const gone = first.subscribe(`subscription Gone { messageBox { cursor } }`);
    const other = second.subscribe(`subscription Brief { messageBox { unreadCount message { kind } } }`);
    await Promise.all([first.roundTrip(), second.roundTrip()]);
    gone.unsubscribe();
    await first.roundTrip();
    for (let n = 1; n <= 3; n++) {
      await createMessages(server, merchantId, 1);
      await allReceived([full, brief, other], n);
    }
    // graphql-ws routes a frame by its id: a frame under the wrong id would land in the wrong feed and fail the shapes below.
    expect(events(full).map((e) => Object.keys(e).sort())).toEqual(Array(3).fill(['cursor', 'message', 'unreadCount']));
    expect(brief.results).toEqual([1, 2, 3].map((unreadCount) => ({ data: { messageBox: { unreadCount, message: { kind: 'ARBITRATION_RESOLVED' } } } })));
    expect(other.results).toEqual(brief.results);
    expect(gone.results).toEqual([]);
    expect(full.error ?? brief.error ?? other.error).toBeUndefined();
  });
});
