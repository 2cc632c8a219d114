import DataLoader from 'dataloader';
import type { Auth, Viewer } from './auth.ts';
import type { Config } from './config.ts';
import { afterSalesByIds } from './db/after-sales.ts';
import type { Db } from './db/database.ts';
import { draftsByRequestIds, stagedFilesByRequestIds } from './db/drafts.ts';
import {
  filesByIds,
  filesBySubmissionIds,
  requestsByAfterSaleIds,
  requestsByIds,
  submissionsByIds,
  submissionsByRequestIds,
} from './db/evidence.ts';
import { countLogs, firstLogsOf, logsByIds } from './db/logs.ts';
import { messagesByIds } from './db/messages.ts';
import type { AfterSaleLogRow } from './db/schema.ts';
import type { Events } from './events.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Tracing } from './tracing.ts';
import type { FileStore } from './storage/file-store.ts';
import type { Previews } from './storage/previews.ts';
import type { UploadParts } from './storage/upload-parts.ts';

/** Everything long-lived the API needs; built once at start. */
export interface Services {
  db: Db;
  events: Events;
  auth: Auth;
  config: Config;
  store: FileStore;
  /** Bytes of unfinished resumable uploads. */
  parts: UploadParts;
  previews: Previews;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Set when OTEL_EXPORTER_OTLP_ENDPOINT is. */
  tracing: Tracing | null;
}

export interface Context {
  services: Services;
  viewer: Viewer | null;
  /** Base of absolute links (file URLs): PUBLIC_URL, or the request's own origin. */
  baseUrl: string;
  loaders: Loaders;
  /** The request's logger (its lines carry the request id); the root logger for sockets. */
  log: Logger;
}

type Owned = { merchantId: string };

/** Drops what the viewer may not see: to a merchant, another shop's rows do not exist. */
export function visibleTo<T extends Owned>(viewer: Viewer | null, row: T | undefined): T | null {
  if (!row || !viewer) return null;
  if (viewer.role === 'merchant' && row.merchantId !== viewer.merchantId) return null;
  return row;
}

function byId<T extends { id: number } & Owned>(viewer: Viewer | null, load: (ids: readonly number[]) => Promise<T[]>) {
  return new DataLoader<number, T | null>(async (ids) => {
    const rows = new Map((await load(ids)).map((r) => [r.id, r]));
    return ids.map((id) => visibleTo(viewer, rows.get(id)));
  });
}

function groupBy<K, T>(rows: T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return groups;
}

export interface LogPageKey {
  afterSaleId: number;
  first: number;
  afterId: number | null;
}

/**
 * Per-request loaders: each relation costs one statement per page, not one per
 * row. Rows reached through a relation belong to the parent's shop already;
 * loads by id check ownership here, so no resolver can forget it.
 */
export function createLoaders(db: Db, viewer: Viewer | null) {
  return {
    afterSale: byId(viewer, (ids) => afterSalesByIds(db, ids)),
    evidenceRequest: byId(viewer, (ids) => requestsByIds(db, ids)),
    submission: byId(viewer, (ids) => submissionsByIds(db, ids)),
    // A staged file belongs to a draft, which only its own shop sees.
    file: byId(viewer, async (ids) => (await filesByIds(db, ids)).filter((f) => f.submissionId != null || viewer?.role === 'merchant')),
    message: byId(viewer, (ids) => messagesByIds(db, ids)),
    // Log lines have no shop of their own: node(id) checks their after-sale instead.
    log: new DataLoader<number, AfterSaleLogRow | null>(async (ids) => {
      const rows = new Map((await logsByIds(db, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
    requestsOfAfterSale: new DataLoader(async (ids: readonly number[]) => {
      const groups = groupBy(await requestsByAfterSaleIds(db, ids), (r) => r.afterSaleId);
      return ids.map((id) => groups.get(id) ?? []);
    }),
    submissionOfRequest: new DataLoader(async (ids: readonly number[]) => {
      const rows = new Map((await submissionsByRequestIds(db, ids)).map((s) => [s.requestId, s]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
    filesOfSubmission: new DataLoader(async (ids: readonly number[]) => {
      const groups = groupBy(await filesBySubmissionIds(db, ids), (f) => f.submissionId);
      return ids.map((id) => groups.get(id) ?? []);
    }),
    draftOfRequest: new DataLoader(async (ids: readonly number[]) => {
      const rows = new Map((await draftsByRequestIds(db, ids)).map((d) => [d.requestId, d]));
      return ids.map((id) => rows.get(id) ?? null);
    }),
    stagedFilesOfRequest: new DataLoader(async (ids: readonly number[]) => {
      const groups = groupBy(await stagedFilesByRequestIds(db, ids), (f) => f.stagedFor!);
      return ids.map((id) => groups.get(id) ?? []);
    }),
    logCount: new DataLoader(async (ids: readonly number[]) => {
      const counts = await countLogs(db, ids);
      return ids.map((id) => counts.get(id) ?? 0);
    }),
    logPage: new DataLoader<LogPageKey, { rows: AfterSaleLogRow[]; hasNextPage: boolean }, string>(
      async (keys) => {
        // Pages asked with the same size and cursor share one statement.
        const groups = groupBy([...keys], (k) => `${k.first}:${k.afterId}`);
        const results = new Map<string, { rows: AfterSaleLogRow[]; hasNextPage: boolean }>();
        for (const group of groups.values()) {
          const { first, afterId } = group[0]!;
          const pages = await firstLogsOf(db, group.map((k) => k.afterSaleId), first, afterId);
          for (const k of group) results.set(logKey(k), pages.get(k.afterSaleId)!);
        }
        return keys.map((k) => results.get(logKey(k))!);
      },
      { cacheKeyFn: logKey },
    ),
  };
}

function logKey(k: LogPageKey): string {
  return `${k.afterSaleId}:${k.first}:${k.afterId}`;
}

export type Loaders = ReturnType<typeof createLoaders>;

export function createContext(services: Services, viewer: Viewer | null, baseUrl: string, log: Logger = services.log): Context {
  return { services, viewer, baseUrl: services.config.publicUrl ?? baseUrl, loaders: createLoaders(services.db, viewer), log };
}

/**
 * The context one event of a subscription is executed with: the
 * subscription's own, with loaders of its own. The subscription's would
 * answer every later event from the first event's cache (an after-sale still
 * awaiting evidence after it expired); these, and whatever else is cached by
 * the context object (scope-auth's checks), go with the event, so an idle
 * subscription keeps none of it.
 */
export function eventContext(ctx: Context): Context {
  // A copy: with `ctx` as its prototype instead, V8 would give every subscription's context a map of its own.
  return { ...ctx, loaders: createLoaders(ctx.services.db, ctx.viewer) };
}
