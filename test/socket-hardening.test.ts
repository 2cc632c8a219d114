import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openCase, startServer } from './helpers.ts';
import { bulkyMessageBox, createMessages, messageList, MESSAGE_BOX, type BoxEvent } from './message-box.ts';
import { connect, socketSuite, within, wsUrl } from './ws-client.ts';

const suite = socketSuite();
const open = suite.open.bind(suite);

const merchant = (shop: string, expiresIn?: string) =>
  suite.server.app.services.auth.sign({ role: 'merchant', sub: `${shop}-staff`, merchantId: shop }, expiresIn);

describe('socket authentication', () => {
  it('closes the socket with 4403 when connection_init carries no token', async () => {
    expect((await open(null).closed()).code).toBe(4403);
  });

  it('closes the socket with 4403 for a malformed token, one signed with another secret, and one with no valid role', async () => {
    const otherSecret = await new SignJWT({ role: 'merchant', merchantId: 'shop-a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('intruder')
      .sign(new TextEncoder().encode('another-secret-0123456789abcdef'));
    const noRole = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('intruder')
      .sign(new TextEncoder().encode('test-secret-0123456789abcdef'));
    const closes = await Promise.all(['not-a-jwt', otherSecret, noRole].map((token) => open(token).closed()));
    expect(closes.map((c) => c.code)).toEqual([4403, 4403, 4403]);
  });

  it('closes the socket with 4403 for a token that has already expired', async () => {
    expect((await open(await merchant('shop-late', '-10s')).closed()).code).toBe(4403);
  });

  it('closes an open socket with 4403 when its token expires, ending its subscriptions', async () => {
    const socket = open(await merchant('shop-expiring', '2s'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    expect(socket.isClosed()).toBe(false);
    expect((await socket.closed()).code).toBe(4403);
    await box.ended();
    expect(box.results).toEqual([]);
  });

  it('keeps a socket open whose token is good for longer than a timer can wait (30 days)', async () => {
    const socket = open(await merchant('shop-monthly', '30d'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    await openCase(suite.server, 'shop-monthly');
    expect((await box.nextData<BoxEvent>()).messageBox.message.kind).toBe('EVIDENCE_REQUESTED');
    await socket.roundTrip();
    expect(socket.isClosed()).toBe(false);
  });
});

describe('bad operations on a socket', () => {
  it('answers each bad operation with its own error and leaves the other subscriptions on the socket running', async () => {
    const socket = open(await merchant('shop-typo'));
    const box = socket.subscribe(MESSAGE_BOX);
    const bad = {
      syntax: socket.subscribe('subscription { messageBox { cursor '),
      unknownField: socket.subscribe('subscription { messageBoxes { cursor } }'),
      missingArgument: socket.subscribe('subscription { afterSaleLogAdded { id } }'),
      nullVariable: socket.subscribe('subscription($id: ID!) { afterSaleLogAdded(afterSaleId: $id) { id } }', { id: null }),
      foreignCursor: socket.subscribe(MESSAGE_BOX, { after: 'not-a-cursor' }),
      twoOperations: socket.subscribe('subscription A { messageBox { cursor } } subscription B { messageBox { cursor } }'),
    };
    const errors = Object.fromEntries(await Promise.all(Object.entries(bad).map(async ([name, feed]) => [name, (await feed.errors())[0]!])));
    expect(errors.syntax.message).toMatch(/^Syntax Error/);
    expect(errors.unknownField.message).toMatch(/Cannot query field "messageBoxes"/);
    expect(errors.missingArgument.message).toMatch(/argument "afterSaleId"/);
    expect(errors.nullVariable.message).toMatch(/Variable "\$id"/);
    expect(errors.foreignCursor.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors.twoOperations.message).toMatch(/operation/i);

    await socket.roundTrip();
    const { afterSaleId } = await openCase(suite.server, 'shop-typo');
    expect((await box.nextData<BoxEvent>()).messageBox.message).toMatchObject({ kind: 'EVIDENCE_REQUESTED', afterSale: { id: afterSaleId } });
    expect(socket.isClosed()).toBe(false);
  });

  it('answers a merchant-only subscription on a platform socket with FORBIDDEN and keeps the socket', async () => {
    const socket = open(suite.platform);
    const errors = await socket.subscribe(MESSAGE_BOX).errors();
    expect(errors.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    await socket.roundTrip();
    expect(socket.isClosed()).toBe(false);
  });

  it('refuses over-deep, over-aliased and over-long operations on the socket just as over HTTP', async () => {
    const nest = (depth: number) => `${'evidenceRequest { afterSale { '.repeat(depth)}id${' } }'.repeat(depth)}`;
    const operations = {
      deep: `query($id: ID!) { afterSale(id: $id) { ${nest(7)} } }`,
      aliased: `{ ${Array.from({ length: 25 }, (_, i) => `a${i}: node(id: "x") { id }`).join(' ')} }`,
      long: `{ ${'__typename '.repeat(2100)}}`,
    };
    const socket = open(suite.platform);
    for (const [name, query] of Object.entries(operations)) {
      const overHttp = await suite.server.gql(suite.platform, query, { id: 'x' });
      const overSocket = await socket.subscribe(query, { id: 'x' }).errors();
      expect(overHttp.data ?? null, name).toBeNull();
      expect(overHttp.errors!.length, name).toBeGreaterThan(0);
      expect(overSocket.map((e) => e.message), name).toEqual(overHttp.errors!.map((e) => e.message));
      expect(overSocket[0]!.message, name).toMatch(/limit/);
    }
    const deepSubscription = await socket.subscribe(`subscription { messageBox { message { afterSale { ${nest(7)} } } } }`).errors();
    expect(deepSubscription[0]!.message).toMatch(/depth/i);
  });

  it('refuses introspection over the socket in production, and allows it in development', async () => {
    const production = await startServer({ NODE_ENV: 'production' });
    const prodSocket = connect(production.url, await production.platformToken());
    try {
      const refused = await prodSocket.subscribe('{ __schema { queryType { name } } }').errors();
      expect(refused[0]!.message).toMatch(/introspection/i);
      const allowed = await open(suite.platform).subscribe('{ __schema { queryType { name } } }').nextData();
      expect(allowed.__schema.queryType.name).toBe('Query');
    } finally {
      await prodSocket.dispose();
      await production.stop();
    }
  });
});

describe('socket limits', () => {
  it('closes a socket that sends a message over the size limit, and goes on serving the others', async () => {
    const bystander = open(await merchant('shop-bystander'));
    const box = bystander.subscribe(MESSAGE_BOX);
    await bystander.roundTrip();

    const flooder = open(await merchant('shop-flooder'));
    await flooder.connected();
    const huge = flooder.subscribe(`{ __typename }${' '.repeat(100 * 1024)}`);
    expect((await flooder.closed()).code).toBe(1009);
    await huge.ended();

    await openCase(suite.server, 'shop-bystander');
    expect((await box.nextData<BoxEvent>()).messageBox.message.kind).toBe('EVIDENCE_REQUESTED');
    const again = open(await merchant('shop-flooder'));
    await again.roundTrip();
  });

  it('closes a socket that sends no connection_init in time with 4408', async () => {
    const raw = new WebSocket(wsUrl(suite.server.url), 'graphql-transport-ws');
    const code = await within(new Promise<number>((resolve) => raw.on('close', (c) => resolve(c))), 'the silent socket to close', 10_000);
    expect(code).toBe(4408);
  });

  it('refuses an operation past 20 on one socket, and frees a place the moment the client completes one', async () => {
    const socket = open(await merchant('shop-busy-tabs'));
    const first = Array.from({ length: 20 }, () => socket.subscribe(MESSAGE_BOX));
    const extra = socket.subscribe(MESSAGE_BOX);
    expect((await extra.errors())[0]!.message).toMatch(/At most 20/);

    // Completing and subscribing again in one go, as a page switch does.
    for (const feed of first) feed.unsubscribe();
    const second = Array.from({ length: 19 }, () => socket.subscribe(MESSAGE_BOX));
    await socket.roundTrip();
    await openCase(suite.server, 'shop-busy-tabs');
    for (const feed of second) expect((await feed.nextData<BoxEvent>()).messageBox.message.kind).toBe('EVIDENCE_REQUESTED');
    expect(first.every((feed) => feed.results.length === 0)).toBe(true);
  });

  it('gives a client that stopped reading every message, in order, once it reads again, and keeps serving meanwhile', async () => {
    const token = await merchant('shop-stalled');
    const socket = open(token);
    const box = socket.subscribe(bulkyMessageBox());
    await socket.roundTrip();
    socket.pause();
    // Far more than fits in the socket buffers: the rest has to wait on the server for the reader.
    await createMessages(suite.server, 'shop-stalled', 1300, 2000);
    expect((await suite.server.gql(token, '{ unreadMessageCount }')).data!.unreadMessageCount).toBe(1300);
    socket.resume();

    const events = (await box.received(1300, 60_000)).map((r) => (r.data as BoxEvent).messageBox);
    expect(events.map((e) => e.message.id)).toEqual((await messageList(suite.server, token)).map((m) => m.id));
  }, 180_000); // 1,300 messages written through the API: minutes on a busy 2-core machine
});

describe('stopping the server', () => {
  it('closes open sockets with 1001 and ends their subscriptions', async () => {
    const own = await startServer();
    const socket = connect(own.url, await own.merchantToken('shop-closing'));
    const box = socket.subscribe(MESSAGE_BOX);
    await socket.roundTrip();
    await own.stop();
    expect((await socket.closed()).code).toBe(1001);
    await box.ended();
    await socket.dispose();
  });

  it('cuts off a client that never answers the close once the shutdown grace has passed', async () => {
    const own = await startServer({ SHUTDOWN_GRACE: '1s' });
    const socket = connect(own.url, await own.merchantToken('shop-deaf'));
    await socket.roundTrip();
    socket.pause();
    // ws itself would wait 30 seconds for the answer.
    await within(own.stop(), 'stop() to finish', 10_000);
    socket.resume();
    await socket.closed();
    await socket.dispose();
  });
});
