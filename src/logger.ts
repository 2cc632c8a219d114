import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import pretty from 'pino-pretty';
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin, type YogaLogger } from 'graphql-yoga';

export type { Logger };

/** The one logger of the server, the jobs and the start: JSON lines on stdout. */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const destination = options.pretty ? pretty({ sync: true }) : pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level,
      // Belt and braces: nothing here logs headers, but a token must never reach a line.
      redact: { paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'token', '*.token'], censor: '[redacted]' },
    },
    destination,
  );
}

/**
 * The logger of a request: pino-http's child, bound to the request id. Passed along (the GraphQL
 * context's `log`) rather than kept in an AsyncLocalStorage: on Node 20 that installs promise hooks
 * for the whole process, and every promise then paid for them (4% of a workbench page's CPU).
 */
export function loggerOf(req: IncomingMessage | undefined, root: Logger): Logger {
  return (req as (IncomingMessage & { log?: Logger }) | undefined)?.log ?? root;
}

/** A client's own id is kept when it is sane, so a line can be followed across services. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * pino-http: one line per request once it is answered, with its id, method,
 * path (never the query string: file links carry their signature there),
 * status and duration; `x-request-id` in and out. The request's logger
 * (`loggerOf(req)`) writes every other line it causes, with the same `reqId`.
 */
export function requestLogging(root: Logger) {
  const http = pinoHttp<IncomingMessage, ServerResponse>({
    logger: root,
    quietReqLogger: true,
    wrapSerializers: false,
    genReqId(req, res) {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    serializers: {
      req: (req: IncomingMessage) => ({ method: req.method, path: (req.url ?? '/').split('?')[0] }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
      err: pino.stdSerializers.err,
    },
    customAttributeKeys: { responseTime: 'durationMs' },
    customSuccessMessage: () => 'request completed',
  });
  return (req: IncomingMessage, res: ServerResponse, serve: () => void): void => {
    const errorListeners = res.listeners('error');
    http(req, res);
    // pino-http also listens for 'error' on the response; with that listener, an upload refused
    // mid-body reached its client as EPIPE instead of the answer (test/hostile-upload.test.ts).
    // Its 'finish' and 'close' listeners still log every request, failed ones included.
    for (const listener of res.listeners('error')) if (!errorListeners.includes(listener)) res.off('error', listener as () => void);
    serve();
  };
}

/** Unexpected errors already logged on their request's logger (by unexpectedErrors), which yoga's own line repeats. */
const loggedErrors = new WeakSet<Error>();

/**
 * Logs each unexpected error of an operation (not a GraphQLError of ours: a bug, a failed query)
 * with its stack on the operation's logger, so the line carries the request id, before yoga masks
 * it in the answer. Operations over a socket log on the root logger.
 */
export function unexpectedErrors(): Plugin<{ log: Logger }> {
  return {
    onExecute: () => ({
      onExecuteDone: ({ args, result }) => {
        if (isAsyncIterable(result)) return;
        for (const error of result.errors ?? []) {
          const original = error.originalError;
          if (!original || original instanceof GraphQLError || loggedErrors.has(original)) continue;
          loggedErrors.add(original);
          args.contextValue.log.error({ err: original }, original.message);
        }
      },
    }),
  };
}

/** Hands yoga's own lines to the root logger, but for the errors unexpectedErrors already logged. */
export function yogaLogger(root: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const [first, ...rest] = args;
      if (first instanceof GraphQLError && first.originalError && loggedErrors.has(first.originalError)) return;
      if (first instanceof Error) return root[level]({ err: first }, first.message);
      if (rest.length === 0) return root[level](String(first));
      root[level]({ details: rest.map((value) => (value instanceof Error ? pino.stdSerializers.err(value) : value)) }, String(first));
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}
