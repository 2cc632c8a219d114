import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import pretty from 'pino-pretty';
import type { YogaLogger } from 'graphql-yoga';

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

/** The logger of the request being served, bound to its request id. */
const requestLogger = new AsyncLocalStorage<Logger>();

/** Inside a request: its own logger (every line carries `reqId`); elsewhere the root one. */
export function currentLogger(root: Logger): Logger {
  return requestLogger.getStore() ?? root;
}

/** A client's own id is kept when it is sane, so a line can be followed across services. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * pino-http: one line per request once it is answered, with its id, method,
 * path (never the query string: file links carry their signature there),
 * status and duration; `x-request-id` in and out. `serve` runs with the
 * request's logger as the current one, so every line the request causes,
 * yoga's unexpected errors included, carries the same `reqId`.
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
    requestLogger.run((req as IncomingMessage & { log: Logger }).log, serve);
  };
}

/** Hands yoga's own lines (masked errors with their stacks, above all) to the current logger. */
export function yogaLogger(root: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) => {
      const log = currentLogger(root);
      const [first, ...rest] = args;
      if (first instanceof Error) return log[level]({ err: first }, first.message);
      if (rest.length === 0) return log[level](String(first));
      log[level]({ details: rest.map((value) => (value instanceof Error ? pino.stdSerializers.err(value) : value)) }, String(first));
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}
