import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { Clock } from '../src/clock.ts';
import type { Logger } from '../src/logger.ts';
import { databaseEnv } from './stored.ts';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const fixture = (name: string) => path.join(FIXTURES, name);

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public ms = Date.parse('2026-11-26T00:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestServer {
  app: App;
  url: string;
  dataDir: string;
  merchantToken(merchantId: string, sub?: string): Promise<string>;
  platformToken(agentId?: string): Promise<string>;
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: any[] }>;
  stop(): Promise<void>;
}

/** What the request helpers need: an in-process TestServer or a spawned server process. */
export type ApiClient = Pick<TestServer, 'url' | 'gql' | 'merchantToken' | 'platformToken'>;

export function tempDir(prefix = 'evidence-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A real server on a real port with its own database (a SQLite file, or a PostgreSQL database) and file store. */
export async function startServer(
  env: Record<string, string> = {},
  options: {
    clock?: Clock;
    dataDir?: string;
    onStatement?: (sql: string) => void;
    /** Where the app logs (by default JSON lines on stdout at LOG_LEVEL). */
    log?: Logger;
    /**
     * Stops the app's scheduler once it has started, so that only the test's own sweepOnce()/drain()
     * calls decide rounds. With a fake clock this matters: the scheduler's exact timer is re-armed
     * after every write, and when its read of the next instant lands after the test moved the clock,
     * it fires at once and runs a sweep of its own beside the test's.
     */
    sweepsByTest?: boolean;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({
    SEED: 'none',
    LOG_LEVEL: 'warn',
    AUTH_SECRET: 'test-secret-0123456789abcdef',
    ...(await databaseEnv(dataDir)),
    ...env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const app = await createApp(config, { clock: options.clock, onStatement: options.onStatement, log: options.log });
  const url = await app.start();
  if (options.sweepsByTest) await app.scheduler.stop();
  const auth = app.services.auth;
  return {
    app,
    url,
    dataDir,
    merchantToken: (merchantId, sub = `${merchantId}-staff`) => auth.sign({ role: 'merchant', sub, merchantId }),
    platformToken: (agentId = 'agent-1') => auth.sign({ role: 'platform', sub: agentId }),
    gql: (token, query, variables) => gql(url, token, query, variables),
    async stop() {
      await app.stop();
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function gql(url: string, token: string | null, query: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: any[] };
}

export interface UploadFile {
  /** Bytes, or a path to read them from. */
  content: Buffer | string;
  name: string;
  type?: string;
}

/**
 * A GraphQL multipart request as apollo-upload-client builds it: `operations`
 * with nulls where the files go, `map`, then one part per file.
 */
export async function uploadRequest(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, any>,
  filesPath: string,
  files: UploadFile[],
  headers: Record<string, string> = { 'apollo-require-preflight': 'true' },
): Promise<Response> {
  const form = new FormData();
  const vars = structuredClone(variables);
  const target = filesPath.split('.').reduce((o, k) => o[k], vars);
  if (Array.isArray(target)) target.splice(0, target.length, ...files.map(() => null));
  form.append('operations', JSON.stringify({ query, variables: vars }));
  form.append('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i + 1), [`variables.${filesPath}.${i}`]]))));
  files.forEach((f, i) => {
    const bytes = typeof f.content === 'string' ? fs.readFileSync(f.content) : f.content;
    form.append(String(i + 1), new Blob([new Uint8Array(bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  });
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: form,
  });
}

export const SUBMIT = `mutation Submit($input: SubmitEvidenceInput!) {
  submitEvidence(input: $input) {
    __typename
    ... on Error { message }
    ... on FileRejectedError { fileName reason }
    ... on InvalidInputError { field }
    ... on EvidenceRequestClosedError { status }
    ... on SubmitEvidencePayload {
      submission { id explanation submittedAt files { id fileName contentType byteSize sha256 url } }
      afterSale { id status }
    }
  }
}`;

export async function submitEvidence(
  server: ApiClient,
  token: string,
  input: { evidenceRequestId: string; explanation: string; idempotencyKey?: string },
  files: UploadFile[],
) {
  const res = await uploadRequest(server.url, token, SUBMIT, { input: { ...input, files: [] } }, 'input.files', files);
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

let counter = 0;

/** The platform records an escalated after-sale and, unless told not to, opens an evidence round. */
export async function openCase(
  server: ApiClient,
  merchantId: string,
  options: { request?: boolean; type?: string; number?: string; appliedAt?: string } = {},
) {
  const platform = await server.platformToken();
  const n = options.number ?? `AS${process.pid}${++counter}`;
  const recorded = await server.gql(
    platform,
    `mutation($input: RecordAfterSaleInput!) { recordAfterSale(input: $input) { __typename ... on RecordAfterSalePayload { afterSale { id number } } } }`,
    {
      input: {
        merchantId,
        number: n,
        orderNumber: `OD-${n}`,
        type: options.type ?? 'REFUND_ONLY',
        reason: 'Damaged',
        buyerClaim: 'It arrived broken',
        amountCents: 12345,
        ...(options.appliedAt ? { appliedAt: options.appliedAt } : {}),
      },
    },
  );
  const afterSaleId: string = recorded.data!.recordAfterSale.afterSale.id;
  if (options.request === false) return { afterSaleId, number: n, requestId: null as string | null };
  const requested = await server.gql(
    platform,
    `mutation($input: RequestEvidenceInput!) { requestEvidence(input: $input) { __typename ... on RequestEvidencePayload { evidenceRequest { id dueAt } } } }`,
    { input: { afterSaleId, instructions: 'Send photos of the parcel and the waybill' } },
  );
  return { afterSaleId, number: n, requestId: requested.data!.requestEvidence.evidenceRequest.id as string };
}

/** Every file under the store's folders: what a refused upload must not leave behind. */
export function storedFiles(dataDir: string): string[] {
  const out: string[] = [];
  for (const sub of ['tmp', 'files']) {
    const root = path.join(dataDir, sub);
    if (!fs.existsSync(root)) continue;
    for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
    }
  }
  return out;
}
