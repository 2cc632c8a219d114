import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { useAPQ } from '@graphql-yoga/plugin-apq';
import { LRUCache } from 'lru-cache';
import { ConfigError } from './config.ts';

/** What the registered queries may take of this process's memory, at most. */
const REGISTERED_BYTES = 4 * 1024 * 1024;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A persisted-operations file: Apollo's persisted query manifest
 * (`{ "format": "apollo-persisted-query-manifest", "operations": [{ "id", "body" }] }`)
 * or a plain `{ "<sha256>": "<query>" }` object. Each id must be its body's SHA-256.
 */
export function readPersistedOperations(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`PERSISTED_OPERATIONS_FILE: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  const manifest = parsed as { format?: string; operations?: { id?: unknown; body?: unknown }[] };
  const entries: [unknown, unknown][] =
    manifest?.format === 'apollo-persisted-query-manifest' && Array.isArray(manifest.operations)
      ? manifest.operations.map((op) => [op.id, op.body])
      : Object.entries((parsed ?? {}) as Record<string, unknown>);
  const operations = new Map<string, string>();
  for (const [id, body] of entries) {
    if (typeof id !== 'string' || typeof body !== 'string' || sha256(body) !== id) {
      throw new ConfigError(`PERSISTED_OPERATIONS_FILE: the entry ${String(id).slice(0, 80)} is not a query under its own SHA-256`);
    }
    operations.set(id, body);
  }
  return operations;
}

/**
 * Automatic persisted queries as Apollo Client sends them: a hash alone runs
 * only a query that a full request registered in this process (the plugin
 * checks that the hash is the query's SHA-256 before it keeps it) or that
 * the persisted-operations file lists, so a made-up hash is
 * PersistedQueryNotFound and executes nothing. What requests register is
 * bounded by bytes, least recently used out first; the file's are kept.
 */
export function persistedQueries(file: string | null) {
  const listed = file ? readPersistedOperations(file) : new Map<string, string>();
  const registered = new LRUCache<string, string>({ maxSize: REGISTERED_BYTES, sizeCalculation: (query, hash) => query.length + hash.length });
  return useAPQ({
    store: {
      get: (hash) => listed.get(hash) ?? registered.get(hash),
      set: (hash, query) => void (listed.has(hash) || registered.set(hash, query)),
    },
    // Answered with 200 and the error in the body, as Apollo's link expects, rather than 404.
    responseConfig: { forceStatusCodeOk: true },
  });
}
