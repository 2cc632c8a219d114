import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Viewer } from './auth.ts';
import type { Services } from './context.ts';
import type { YogaServer } from './yoga.ts';

/** Limits that keep one socket from costing the server much. */
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;
const CONNECTION_INIT_TIMEOUT_MS = 5000;

type SocketExtra = { viewer?: Viewer; operations?: Set<string>; expiry?: NodeJS.Timeout };

/**
 * graphql-ws on the HTTP server's /graphql path. The token is checked once, at
 * connection_init: a missing, invalid or expired one closes the socket with
 * 4403, and the socket closes the same way when the token's `exp` passes.
 */
export function attachWebSocketServer(httpServer: Server, services: Services, yoga: YogaServer) {
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_PAYLOAD_BYTES });

  const disposable = useServer<Record<string, unknown>, SocketExtra>(
    {
      connectionInitWaitTimeout: CONNECTION_INIT_TIMEOUT_MS,
      isProd: true,
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onConnect: async (ctx) => {
        try {
          const viewer = await services.auth.fromHeader(ctx.connectionParams?.authorization);
          if (!viewer) return false;
          ctx.extra.viewer = viewer;
          ctx.extra.operations = new Set();
          const exp = viewer.expiresAt;
          if (exp != null) {
            ctx.extra.expiry = setTimeout(() => ctx.extra.socket.close(CloseCode.Forbidden, 'Token expired'), Math.max(0, exp - Date.now()));
          }
          return true;
        } catch {
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiry),
      onSubscribe: async (ctx, id, payload) => {
        const operations = ctx.extra.operations!;
        if (operations.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [new GraphQLError(`At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} operations at once on one socket`)];
        }
        const host = ctx.extra.request.headers.host ?? `${services.config.host}:${services.config.port}`;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          socketViewer: ctx.extra.viewer ?? null,
          socketBaseUrl: `http://${host}`,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          // Returned, not thrown: a thrown error would close the whole socket.
          return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error in the operation')];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        operations.add(id);
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
      onComplete: (ctx, id) => void ctx.extra.operations?.delete(id),
    },
    wss,
  );

  return {
    wss,
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose?.();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
