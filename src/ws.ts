import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode, type Context as GraphQLWsContext } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Viewer } from './auth.ts';
import type { Services } from './context.ts';
import { sendSpliced, serializedOnce } from './shared-execution.ts';
import type { Work } from './work.ts';
import type { YogaServer } from './yoga.ts';

/** Limits that keep one socket from costing the server much. */
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;
const CONNECTION_INIT_TIMEOUT_MS = 5000;
/** Node fires longer timers at once (TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

type SocketExtra = { viewer?: Viewer; expiry?: NodeJS.Timeout; baseUrl?: string };

/**
 * `value`, or the equal string handed out just before: every socket of one
 * host keeps one copy of its base URL, not one each.
 */
let lastString = '';
function sameAsLast(value: string): string {
  if (value === lastString) return lastString;
  lastString = value;
  return value;
}

/**
 * The server's sockets: ws's own, with what each needs on the prototype
 * rather than a listener or wrapper per socket (10,000 idle sockets each
 * pay for every closure they hold). `send` splices shared payloads
 * (src/shared-execution.ts).
 *
 * ws answers a message over maxPayload by closing the socket with 1009 and
 * then emitting the error; graphql-ws takes any socket error for a bug of
 * ours and prints "Internal error emitted". That close is the limit working,
 * so the error stops here, as one debug line; every other error goes on.
 */
function serverSocket(onOversize: () => void): typeof WebSocket {
  class ServerSocket extends WebSocket {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'error' && (args[0] as { code?: string } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        onOversize();
        return true;
      }
      return super.emit(event, ...args);
    }
  }
  ServerSocket.prototype.send = sendSpliced as WebSocket['send'];
  return ServerSocket;
}

/** Closes the socket with 4403 once `expiresAt` passes; a wait past the timer limit is re-armed in steps. */
function closeAtExpiry(extra: Extra & SocketExtra, expiresAt: number): void {
  const wait = expiresAt - Date.now();
  if (wait <= 0) return extra.socket.close(CloseCode.Forbidden, 'Token expired');
  extra.expiry = setTimeout(() => closeAtExpiry(extra, expiresAt), Math.min(wait, MAX_TIMER_MS));
}

/**
 * What a subscription's events that go out past graphql-ws's iteration
 * (src/shared-execution.ts) are sent with: the frame graphql-ws would send,
 * `{"id":…,"type":"next","payload":…}` with the payload's JSON as given, and
 * nothing once the client completed the operation or the socket closed (graphql-ws
 * drops the operation from `subscriptions` at once then). While earlier frames
 * are still being written the answer waits for this one's write, as graphql-ws
 * does, so a client that stops reading holds its feed's cursor, not a queue;
 * without `wait` nothing is sent then, and the feed serves that subscriber
 * by itself (src/feeds.ts).
 */
function nextSender(ctx: GraphQLWsContext<Record<string, unknown>, Extra & SocketExtra>, id: string) {
  return (json: string, wait: boolean): boolean | Promise<boolean> => {
    const socket = ctx.extra.socket;
    if (!(id in ctx.subscriptions) || socket.readyState !== WebSocket.OPEN) return true;
    const busy = socket.bufferedAmount > 0;
    if (busy && !wait) return false;
    const frame = `{"id":${JSON.stringify(id)},"type":"next","payload":${json}}`;
    if (!busy) {
      rawSend.call(socket, frame);
      return true;
    }
    return new Promise((resolve) => rawSend.call(socket, frame, () => resolve(true)));
  };
}

const rawSend = WebSocket.prototype.send as (this: WebSocket, data: string, cb?: (error?: Error) => void) => void;

/**
 * Pings every socket each `intervalMs`, so that proxies and load balancers
 * that cut idle connections see traffic on a quiet message box, and cuts off
 * a socket that has not answered the previous ping (a peer gone without a
 * close). One timer for all sockets, not one each.
 */
function keepAlive(wss: WebSocketServer, intervalMs: number): NodeJS.Timeout {
  const answered = new WeakSet<WebSocket>();
  // One listener for every socket: ws calls it with the socket as `this`.
  function pong(this: WebSocket) {
    answered.add(this);
  }
  wss.on('connection', (socket) => {
    answered.add(socket);
    socket.on('pong', pong);
  });
  const timer = setInterval(() => {
    for (const socket of wss.clients) {
      if (!answered.delete(socket)) socket.terminate();
      else if (socket.readyState === socket.OPEN) socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return timer;
}

/**
 * graphql-ws on the HTTP server's /graphql path. The token is checked once, at
 * connection_init: a missing, invalid or expired one closes the socket with
 * 4403, and the socket closes the same way when the token's `exp` passes.
 */
export function attachWebSocketServer(httpServer: Server, services: Services, yoga: YogaServer, work: Work) {
  const { metrics, log } = services;
  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    WebSocket: serverSocket(() => log.debug(`a socket sent a message over ${MAX_PAYLOAD_BYTES} bytes; closed with 1009`)),
  });
  const heartbeat = keepAlive(wss, services.config.wsPingIntervalMs);
  const countClosed = () => metrics.openSockets.dec();
  // Registered before graphql-ws's own listener, so the socket is counted first. A socket closes once: `on`, not
  // `once`, which would wrap the listener for each socket.
  wss.on('connection', (socket) => {
    metrics.openSockets.inc();
    socket.on('close', countClosed);
  });

  const disposable = useServer<Record<string, unknown>, SocketExtra>(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      isProd: true,
      // A query's or mutation's work is counted until it ends, also once its socket has closed (src/work.ts).
      execute: (args) => work.track((args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args)) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onConnect: async (ctx) => {
        // The upgrade request is needed for its host only: an idle socket does not keep it (and its headers) alive.
        const host = ctx.extra.request.headers.host ?? `${services.config.host}:${services.config.port}`;
        // Deleted while it is the last property added: the object keeps its compact layout.
        Reflect.deleteProperty(ctx.extra, 'request');
        ctx.extra.baseUrl = sameAsLast(`http://${host}`);
        // Nor does it keep the token once read: graphql-ws would hold connectionParams for the socket's life.
        const authorization = ctx.connectionParams?.authorization;
        Reflect.deleteProperty(ctx, 'connectionParams');
        try {
          const viewer = await services.auth.fromHeader(authorization);
          if (!viewer) return false;
          ctx.extra.viewer = viewer;
          if (viewer.expiresAt != null) closeAtExpiry(ctx.extra, viewer.expiresAt);
          return true;
        } catch {
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      // Results with errors are masked per operation and sent as graphql-ws would.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? undefined : (serializedOnce(result) as never)),
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws lists every running operation, this one included, and drops one
        // the moment the client completes it, so an unsubscribe frees its place at once.
        if (Object.keys(ctx.subscriptions).length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} operations at once on one socket`)];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          socketViewer: ctx.extra.viewer ?? null,
          socketBaseUrl: ctx.extra.baseUrl,
          sendNext: nextSender(ctx, id),
          params: payload,
        });
        // Errors are returned, not thrown: a thrown one would close the whole socket with
        // every other subscription on it. graphql-armor's limits throw from parse and validate.
        try {
          const document = parse(payload.query);
          const errors = validate(schema, document);
          if (errors.length > 0) return errors;
          // graphql-ws keeps the message for the operation's life; the parsed document (one for every socket
          // that sent the same text, from yoga's parse cache) is all that is needed of its text from now on.
          (payload as { query: string }).query = '';
          return {
            schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          };
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
    },
    wss,
    // graphql-ws would keep a timer per socket; keepAlive pings them all from one.
    0,
  );

  return {
    wss,
    /**
     * Closes every socket with 1001 (going away) and stops accepting new ones.
     * A client that never answers the close is cut off after the shutdown
     * grace, rather than after ws's own 30 seconds.
     */
    async close(): Promise<void> {
      clearInterval(heartbeat);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      const cutoff = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, services.config.shutdownGraceMs);
      try {
        await disposable.dispose();
      } finally {
        clearTimeout(cutoff);
      }
    },
  };
}
