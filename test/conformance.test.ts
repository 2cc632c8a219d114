import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

// The audit list is fixed, so the tests can be named before the server runs. Only MUST
// audits are required; the SHOULD and MAY ones all pass today but are not pinned.
const audits = serverAudits({ url: () => `${server.url}/graphql` });

describe('GraphQL over HTTP conformance (graphql-http audits against the live server)', () => {
  for (const audit of audits.filter((a) => a.name.startsWith('MUST'))) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect(result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason}`).toBe('ok');
    });
  }
});
