import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql@16 has no "exports" map: Node loads its CommonJS build for the
    // libraries, Vite would pick the .mjs one for our files. One copy only.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The browser tests need the built pages (web/dist).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each test file runs in its own process with its own data folder and port.
    pool: 'forks',
  },
});
