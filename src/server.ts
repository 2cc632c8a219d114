import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { hasAnyAfterSale } from './db/after-sales.ts';
import { DEMO_MERCHANTS, seedDemo } from './demo/seed.ts';
import { createLogger } from './logger.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      createLogger('info').fatal(`Cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  // Pretty lines for a developer at a terminal; JSON everywhere else, and always in production.
  const log = createLogger(config.logLevel, { pretty: !config.production && process.stdout.isTTY });
  const app = await createApp(config, { log });
  const { db, store, auth, clock } = app.services;
  const seeded = config.seed && !(await hasAnyAfterSale(db)) ? await seedDemo(db, store, config, clock.now()) : 0;
  const url = await app.start();

  // Where it listens is printed whatever LOG_LEVEL says: an operator (and a supervisor reading it) needs it.
  log.child({}, { level: 'info' }).info({ url, dataDir: config.dataDir }, `Evidence service on ${url}/graphql (HTTP and WebSocket)`);
  if (!config.production) log.info(`GraphiQL: ${url}/graphql`);
  if (config.production && !config.metricsToken) log.warn('METRICS_TOKEN is not set: anyone who reaches this port can read /metrics');
  if (seeded) log.info(`Seeded ${seeded} demo after-sales.`);
  if (!config.production && config.seed) {
    // Demo tokens are for the developer's eyes: written to stderr, never into the log stream.
    const lines = ['Ready-made tokens (Authorization: Bearer <token>):'];
    for (const merchantId of DEMO_MERCHANTS) {
      lines.push(`  merchant ${merchantId}: ${await auth.sign({ role: 'merchant', sub: `${merchantId}-staff`, merchantId })}`);
    }
    lines.push(`  platform agent-demo: ${await auth.sign({ role: 'platform', sub: 'agent-demo' })}`);
    process.stderr.write(`${lines.join('\n')}\n`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing in-flight requests, then stopping`);
    app.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error) => {
        log.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  createLogger('info').fatal({ err: error }, 'Cannot start');
  process.exit(1);
});
