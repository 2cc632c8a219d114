import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Auth, resolveSecret } from './auth.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Services } from './context.ts';
import type { Committed } from './db/changes.ts';
import type { Db } from './db/database.ts';
import { referencedHashes } from './db/evidence.ts';
import { openDatabase } from './db/open.ts';
import { createEvents } from './events.ts';
import { RedisBus } from './redis-bus.ts';
import { createHttpHandler } from './http.ts';
import { createLogger, requestLogging, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { startTracing } from './tracing.ts';
import { Foreground } from './jobs/foreground.ts';
import { CrossProcessRelay } from './jobs/relay.ts';
import { BacklogThread } from './jobs/backlog.ts';
import { DeadlineScheduler, type SliceResult } from './jobs/scheduler.ts';
import { uploadIds } from './db/uploads.ts';
import { UploadSweep } from './jobs/upload-sweep.ts';
import { removeDiscarded } from './storage/discard.ts';
import { FileStore } from './storage/file-store.ts';
import { UploadParts } from './storage/upload-parts.ts';
import { Previews } from './storage/previews.ts';
import { attachWebSocketServer } from './ws.ts';
import { warmUp } from './warm-up.ts';
import { Work } from './work.ts';
import { createYogaServer } from './yoga.ts';

/** How long a stop leaves connections with no parsed request open, so bytes already sent are read and answered. */
const IDLE_CLOSE_DELAY_MS = 100;

export interface App {
  services: Services;
  /** The bus to the other instances, where REDIS_URL is set. */
  redis: RedisBus | null;
  scheduler: DeadlineScheduler;
  /** Where a deadline backlog drains, on the real clock: a thread of its own (src/jobs/backlog.ts). */
  backlog: BacklogThread | null;
  server: http.Server;
  /** Starts listening and the scheduler (with its catch-up); resolves to the base URL. */
  start(): Promise<string>;
  /** Graceful stop: no new connections, in-flight requests finish (bounded), sockets get 1001. */
  stop(): Promise<void>;
}

/** Whether the database answers: readiness asks it on every probe. */
export async function ping(db: Db): Promise<boolean> {
  try {
    await db.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Wires config -> database -> yoga -> HTTP + WebSocket -> scheduler. Listens
 * only on start(). Every commit announces what it wrote through `events`,
 * after the commit: no write can forget to, and nothing is announced that
 * was rolled back.
 */
export async function createApp(config: Config, options: { clock?: Clock; onStatement?: (sql: string) => void; log?: Logger } = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const store = new FileStore(config.dataDir, config.filesDir, (bytes) => metrics.bytesReceived.inc(bytes));
  // One SQLite file and no Redis: processes on the same file hear of each other through the relay (below).
  const events = createEvents({ relayed: config.databaseUrl == null && !config.redisUrl });
  const redis = config.redisUrl ? new RedisBus(config.redisUrl, events, config.resyncIntervalMs, (message) => log.warn(message)) : null;
  if (redis) events.connect(redis);
  // In the shared FILES_DIR, so an upload begun through one instance resumes through any other.
  const parts = new UploadParts(config.filesDir);
  // Every commit, of this thread or of the backlog thread (src/jobs/backlog.ts), is announced here.
  const announce = (changes: Committed) => {
    events.publishChanges(changes);
    const { discarded } = changes;
    if (discarded.hashes.length > 0 || discarded.uploadIds.length > 0) {
      removeDiscarded(db, store, parts, discarded).catch((error) => console.error('removing discarded draft files failed', error));
    }
  };
  const db: Db = await openDatabase(config.databaseUrl, config.dataDir, { onStatement: options.onStatement, onCommit: announce });
  const previews = new Previews(path.join(store.filesDir, 'previews'));
  store.cleanTemp();
  const referenced = await referencedHashes(db);
  store.removeOrphans(referenced, clock);
  previews.removeOrphans(referenced);
  const uploadSweep = new UploadSweep(db, parts, clock, config.sweepIntervalMs);
  await uploadSweep.sweep();
  parts.removeOrphans(await uploadIds(db));
  const auth = new Auth(resolveSecret(config.authSecret, config.dataDir), config.jwks);
  const tracing = config.otlpEndpoint ? startTracing(config.otlpEndpoint) : null;
  const services: Services = { db, events, auth, config, store, parts, previews, clock, log, metrics, tracing };
  const foreground = new Foreground();
  const onSlice = ({ expired, reminded, expiredDueAts }: SliceResult, now: number) => {
    metrics.lastSweep.set(Date.now() / 1000);
    if (reminded) metrics.remindersSent.inc(reminded);
    if (expired) metrics.expiriesSent.inc(expired);
    for (const dueAt of expiredDueAts) metrics.expiryLateness.observe(Math.max(0, now - dueAt) / 1000);
  };
  // While no request has come for a second, a backlog drains four times as many rounds per transaction.
  const idleBatchSize = config.sweepBatch * 4;
  // On the real clock a backlog drains on a thread of its own, in the larger transactions, as the requests are
  // not on that thread; here only the slices before it has started, in small ones. (A test's hand-moved clock
  // cannot cross to a thread: there a backlog drains here, in large slices while no request comes.)
  const backlog =
    clock === systemClock
      ? new BacklogThread({
          databaseUrl: config.databaseUrl,
          dataDir: config.dataDir,
          share: db.share(),
          reminderLeadMs: config.reminderLeadMs,
          // On SQLite a commit writes every page the transaction touched (most shops' message-box and workbench
          // index pages, whatever its size), so larger ones cost less a round: 8 slices (22.5k -> 23.8k rounds/s
          // alone); the write lock is held for ~170 ms a transaction meanwhile. PostgreSQL writes rows, not pages.
          batchSize: config.sweepBatch * (config.databaseUrl ? 4 : 8),
          onCommit: announce,
          onSlice,
        })
      : undefined;
  const scheduler = new DeadlineScheduler(db, events, clock, {
    reminderLeadMs: config.reminderLeadMs,
    sweepIntervalMs: config.sweepIntervalMs,
    batchSize: config.sweepBatch,
    // With the thread, the slices here only bridge its start: always the small ones.
    idleBatchSize,
    idle: backlog ? undefined : () => foreground.idleFor(1000),
    // A backlog yields to requests in progress, for at most as long as its last slice took.
    between: (lastSliceMs) => foreground.quiet(Math.max(5, lastSliceMs)),
    backlog,
    log,
    onSlice,
    onFailure: () => metrics.sweepFailures.inc(),
  });
  // Other processes sharing one SQLite file are heard of through the relay, unless Redis carries their pushes.
  const relay = db.dialect === 'sqlite' && !redis ? new CrossProcessRelay(db, events, config.relayIntervalMs, log) : null;
  const yoga = createYogaServer(services);
  let stopping = false;
  const handler = createHttpHandler({
    services,
    yoga,
    healthy: () => scheduler.isRunning,
    // Ready while not stopping, the scheduler runs, the database answers, and Redis is up where it is used.
    ready: async () => !stopping && scheduler.isRunning && (redis ? redis.healthy : true) && (await ping(db)),
  });
  const logRequest = requestLogging(log);
  const inFlight = new Set<http.ServerResponse>();
  const work = new Work();
  const server = http.createServer({ requestTimeout: 30 * 60_000, headersTimeout: 60_000 }, (req, res) => {
    inFlight.add(res);
    const end = foreground.begin();
    res.once('close', () => {
      inFlight.delete(res);
      end();
    });
    // While stopping, each answer closes its connection: the stop need not wait out keep-alive.
    if (stopping) res.shouldKeepAlive = false;
    logRequest(req, res, () => void work.track(handler(req, res)));
  });
  const sockets = attachWebSocketServer(server, services, yoga, work);

  return {
    services,
    redis,
    scheduler,
    backlog: backlog ?? null,
    server,
    async start() {
      // Subscribed (and confirmed) before this instance takes its first socket or sweeps.
      await redis?.start();
      // After downtime the backlog thread starts (some 0.4 s) beside the warm-up, before the first request, not
      // beside the first requests (where the main thread drained in small slices until it was up).
      await Promise.all([warmUp(services, yoga), scheduler.prepare()]);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      await relay?.start();
      await scheduler.start();
      uploadSweep.start();
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      return `http://${host}:${port}`;
    },
    async stop() {
      stopping = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      // Stop listening, but keep open connections for a moment: http.Server#close() would close at once every
      // connection whose request has not been parsed yet, so a probe whose bytes are still in the socket would be cut.
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      // Then idle keep-alive connections go; every answer given while stopping closes its own connection.
      const idle = setTimeout(() => server.closeIdleConnections(), IDLE_CLOSE_DELAY_MS);
      await sockets.close();
      const graceEnds = Date.now() + config.shutdownGraceMs;
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      clearTimeout(idle);
      // What clients left behind still runs to its end (its write commits or rolls back whole) before the database closes.
      const cut = await work.settled(graceEnds - Date.now());
      if (cut) log.warn({ requests: cut }, 'stopping with requests still running past the shutdown grace');
      await relay?.stop();
      await scheduler.stop();
      await redis?.stop();
      await uploadSweep.stop();
      await db.close();
      store.close();
      await tracing?.shutdown().catch((error) => log.warn({ err: error }, 'could not send the last spans'));
    },
  };
}
