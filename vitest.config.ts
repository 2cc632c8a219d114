import { createRequire } from 'node:module';
import os from 'node:os';
import { defineConfig } from 'vitest/config';
import { whyNoServer } from './test/support/postgres.ts';

const require = createRequire(import.meta.url);

const tests = ['test/**/*.test.ts'];
// The PostgreSQL half needs TEST_DATABASE_URL or Debian's initdb; without either it has no files.
const noPostgres = whyNoServer();
// Vitest loads this file once for the root and once per project: say it once.
const noted = Symbol.for('evidence-service.pg-skip-noted');
if (noPostgres && !(globalThis as Record<symbol, unknown>)[noted]) {
  (globalThis as Record<symbol, unknown>)[noted] = true;
  console.log(`PostgreSQL half skipped: ${noPostgres}`);
}

export default defineConfig({
  resolve: {
    // graphql@16 has no "exports" map: Node loads its CommonJS build for the
    // libraries, Vite would pick the .mjs one for our files. One copy only.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    // The browser tests need the built pages (web/dist).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each test file runs in its own process with its own data folder and port
    // (and, in the pg project, its own database).
    pool: 'forks',
    // Vitest's default (cores - 1) is one file at a time on 2 cores; the files mostly
    // wait on sockets, timers and child processes, so two at a time nearly halves the
    // wall time of both halves there (226 s -> 145 s measured).
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    // So that `--project pg` alone still ends cleanly where the pg half has no files.
    passWithNoTests: Boolean(noPostgres),
    projects: [
      { extends: true, test: { name: 'sqlite', include: tests } },
      {
        extends: true,
        test: {
          name: 'pg',
          include: noPostgres ? [] : tests,
          env: { TEST_DB: 'pg' },
          globalSetup: ['test/support/pg-global-setup.ts'],
        },
      },
    ],
  },
});
