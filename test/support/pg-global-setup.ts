import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { dropTestDatabases, findOrStartServer, stopServer } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the run's PostgreSQL server: may create roles and databases. */
    pgAdminUrl: string;
    /** Name prefix of this run's test databases and roles, so teardown drops only its own. */
    pgNamePrefix: string;
  }
}

/**
 * The pg project's global setup: finds (TEST_DATABASE_URL) or starts (Debian's
 * initdb) one PostgreSQL server for the whole run, hands its admin URL to the
 * test files, and in teardown drops this run's databases and stops what it started.
 * vitest.config.ts leaves the pg project without files when neither exists, so
 * this runs only where a server should be had: failing to start one is an error.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const found = await findOrStartServer();
  if (found.kind === 'none') throw new Error(`PostgreSQL half cannot run: ${found.reason}`);
  const prefix = `t_${randomBytes(4).toString('hex')}`;
  project.provide('pgAdminUrl', found.adminUrl);
  project.provide('pgNamePrefix', prefix);
  const where = found.kind === 'started' ? `a throwaway server started with ${found.server.bin}/pg_ctl` : 'TEST_DATABASE_URL';
  console.log(`PostgreSQL half: ${where} (${new URL(found.adminUrl).host})`);
  return async () => {
    if (found.kind === 'started') await stopServer(found.server);
    else await dropTestDatabases(found.adminUrl, prefix);
  };
}
