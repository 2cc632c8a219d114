import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a refused body we read before answering, so the client sees the answer and not a reset. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;
const DRAIN_LIMIT_MS = 2000;
/**
 * Lingering close, as nginx does it: after an early answer keep discarding
 * while the client still sends, until it pauses this long (it has read the
 * answer and stopped) or the total below runs out, so that a busy client
 * reads the answer before the close; bounded, so a slow sender cannot hold it.
 */
const LINGER_IDLE_MS = 2000;
const LINGER_MAX_MS = 15_000;

/**
 * Reads and drops what is left of a request body, up to a bound, then calls
 * `done`. Past the bound the connection is closed after the answer.
 */
export function drainThen(req: IncomingMessage, res: ServerResponse, done: () => void): void {
  if (req.readableEnded || req.destroyed) return done();
  let seen = 0;
  let finished = false;
  const finish = (complete: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    if (!complete) {
      // Lingering close: closing with unread bytes sends a reset, which can destroy the answer
      // before the client reads it; so keep discarding a little longer first. The answer stays
      // keep-alive on purpose: with `Connection: close` Node destroys the socket as soon as the
      // answer is flushed, which is that very reset; linger() closes it, bounded, instead.
      res.once('finish', () => linger(req));
    }
    done();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT_BYTES) finish(false);
  };
  const timer = setTimeout(() => finish(false), DRAIN_LIMIT_MS);
  req.unpipe();
  req.on('data', onData);
  req.once('end', () => finish(true));
  req.once('error', () => finish(false));
  req.resume();
}

function linger(req: IncomingMessage): void {
  const close = () => {
    clearTimeout(idle);
    clearTimeout(max);
    req.destroy();
  };
  const idle = setTimeout(close, LINGER_IDLE_MS).unref();
  const max = setTimeout(close, LINGER_MAX_MS).unref();
  req.on('data', () => idle.refresh());
  req.once('end', close);
  req.resume();
}

