import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { hasAnyAfterSale } from './db/after-sales.ts';
import { DEMO_MERCHANTS, seedDemo } from './demo/seed.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  const { db, store, auth, clock } = app.services;
  const seeded = config.seed && !(await hasAnyAfterSale(db)) ? await seedDemo(db, store, config, clock.now()) : 0;
  const url = await app.start();

  console.log(`Evidence service on ${url}/graphql (HTTP and WebSocket); data in ${config.dataDir}`);
  if (!config.production) console.log(`GraphiQL: ${url}/graphql`);
  if (seeded) console.log(`Seeded ${seeded} demo after-sales.`);
  // SEED=none turns the demo off, its tokens with it.
  if (!config.production && config.seed) {
    console.log('Ready-made tokens (Authorization: Bearer <token>):');
    for (const merchantId of DEMO_MERCHANTS) {
      console.log(`  merchant ${merchantId}: ${await auth.sign({ role: 'merchant', sub: `${merchantId}-staff`, merchantId })}`);
    }
    console.log(`  platform agent-demo: ${await auth.sign({ role: 'platform', sub: 'agent-demo' })}`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight requests, then stopping`);
    app.stop().then(
      () => process.exit(0),
      (error) => {
        console.error('unclean stop', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  console.error('Cannot start:', error);
  process.exit(1);
});
