import { Auth } from '../../src/auth.ts';
import type { Dialect, Store } from './store.ts';

export interface Figure {
  /** Stable key in results.json, e.g. `workbench.ratio`. */
  key: string;
  label: string;
  value: number;
  unit: string;
  /** The raw baseline's figure measured beside it in the same run, where there is one. */
  baseline?: number;
  /** e.g. ">= 0.5"; figures without a target are context. */
  target?: { op: '>=' | '<=' | '<'; value: number };
}

export interface BenchContext {
  quick: boolean;
  /** `--catch-up-alone`: the deadline catch-up without merchants using the workbench beside it. */
  catchUpAlone: boolean;
  /** The database the service runs on in this pass (`--db`). */
  db: Dialect;
  /** A fresh folder for this scenario's data; removed after the run. */
  dir(name: string): string;
  /** A fresh folder and a fresh database of `db`'s kind (the SQLite file in the folder, or a PostgreSQL database). */
  store(name: string): Promise<Store>;
  secret: string;
  auth: Auth;
  log(...args: unknown[]): void;
  /** Text shown under the table and kept in results.json (e.g. query plans). */
  note(title: string, text: string): void;
}

export function met(f: Figure): boolean | null {
  if (!f.target) return null;
  const { op, value } = f.target;
  return op === '>=' ? f.value >= value : op === '<=' ? f.value <= value : f.value < value;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

export async function gql<T = any>(url: string, token: string | null, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function serviceEnv(ctx: BenchContext, store: Pick<Store, 'dataDir' | 'env'>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    AUTH_SECRET: ctx.secret,
    DATA_DIR: store.dataDir,
    ...store.env,
    HOST: '127.0.0.1',
    PORT: '0',
    SEED: 'none',
    ...extra,
  };
}

export const REQUEST_EVIDENCE = `mutation($input: RequestEvidenceInput!) {
  requestEvidence(input: $input) { __typename ... on RequestEvidencePayload { evidenceRequest { id dueAt } } ... on Error { message } }
}`;

export const gid = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
