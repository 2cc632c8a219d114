import { getTableColumns, type Column, type SQL } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Changes } from './changes.ts';
import type { AfterSaleLogRow, Tables } from './schema.ts';

/**
 * The query builder the rules use: PostgreSQL's, typed. On SQLite the same
 * calls run on better-sqlite3's builder, which has every method used here;
 * a rule must await each statement and use nothing dialect-specific (no
 * `.get()`, `.run()` or `.for()`): what differs is in the methods below.
 */
export type Sql = Omit<NodePgDatabase<Tables>, '$client' | 'transaction' | 'execute'>;

/** A query that can be prepared once under a name and run with `sql.placeholder` values. */
interface Preparable<P> {
  prepare(name: string): P;
}

/**
 * The database as the rules see it, on either dialect. Outside `write` it
 * reads committed data; inside, it is the transaction. The two
 * implementations are src/db/dialects/sqlite.ts and src/db/dialects/postgres.ts:
 * every difference between the dialects is there and nowhere else.
 */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  readonly q: Sql;
  readonly t: Tables;
  /**
   * Inside `write`: what the transaction produced, announced once it commits
   * (through the `onCommit` the database was opened with). Null outside.
   */
  readonly changes: Changes | null;

  /**
   * Runs `work` in a transaction, commits, then announces its changes.
   * SQLite: one writer at a time (an async lock in the process, BEGIN
   * IMMEDIATE between processes), on a connection of its own, so reads never
   * see a write in progress. PostgreSQL: READ COMMITTED, retried a few times
   * on a serialization failure, a deadlock or a lost unique race. Inside a
   * write, `write` runs `work` in the same transaction.
   */
  write<T>(work: (tx: Db) => Promise<T>): Promise<T>;

  /**
   * Locks, for the rest of the transaction and in the one order every write
   * takes them, the after-sales it changes and then the message boxes it
   * writes to. A new log line or message takes its id under that lock, so
   * ids within one after-sale's log or one shop's messages are in commit
   * order, and a feed that reads "after my cursor" skips nothing.
   */
  lockAfterSales(ids: readonly number[]): Promise<void>;
  lockMessageBoxes(merchantIds: readonly string[]): Promise<void>;
  /**
   * The after-sales a `forClaim` read with `table` = after-sales returned:
   * that read locked them already (PostgreSQL), so they count as locked by
   * lockAfterSales, without another statement to lock them again.
   */
  claimedAfterSales(ids: readonly number[]): void;

  /**
   * Inserts `list` into `table` (its rows' `id` left to the database), in the order given, and returns their
   * ids in that order; columns a row leaves out are null. For many rows at once (a deadline batch's log
   * lines and messages), each dialect its fastest way: PostgreSQL one INSERT … SELECT of the rows bound as
   * one value (one round trip for any number, prepared once under `key`); SQLite, in the process,
   * multi-row INSERTs of 32 rows and then one-row ones for the rest, each prepared once.
   */
  insertRows(key: string, table: PgTable, list: readonly Record<string, unknown>[]): Promise<number[]>;
  /** A query prepared once (per connection on SQLite, by name on PostgreSQL). */
  prepared<P>(key: string, build: () => Preparable<P>): P;
  /** `column IN (the ids)` with one bound parameter for any number of ids; bind `ids(list)`. */
  inIds(column: PgColumn | SQL, placeholder: string): SQL;
  ids(list: readonly number[]): unknown;
  /** A relation `wanted(value)` of the ids bound to `placeholder`, to join against. */
  idsRelation(placeholder: string): SQL;
  /** A relation `counted(key, n)` of the [key, n] pairs bound to `placeholder` (bind `JSON.stringify(pairs)`). */
  countsRelation(placeholder: string): SQL;
  /**
   * The first `limit` log lines after line `afterId` of each after-sale in
   * `afterSaleIds`, ordered by after-sale and id: for each, the index yields
   * its first lines and stops (SQLite: a correlated IN; PostgreSQL: a
   * LATERAL join, as it does not decorrelate the former).
   */
  firstLogLines(afterSaleIds: readonly number[], afterId: number, limit: number): Promise<AfterSaleLogRow[]>;
  /** ASCII-case-insensitive `LIKE` with `\` as the escape character, on both dialects. */
  likeIgnoringCase(column: PgColumn, pattern: SQL): SQL;
  /**
   * Rows locked for the claim, skipping rows another instance holds, so that
   * several schedulers share a backlog instead of queueing on each other
   * (PostgreSQL); SQLite has one writer and no row locks.
   */
  forClaim<Q>(query: Q, table: Tables[keyof Tables]): Q;

  /** What another thread of this process passes as `share` to open this database beside this handle. */
  share(): SharedWith;

  /** Cheap round trip, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A Db that is not in a transaction: what the app opens at start. */
export type Database = Db;

export interface OpenOptions {
  /** Called after each commit with what it produced (src/events.ts announces it). */
  onCommit?: (changes: Changes) => void;
  /** Every SQL statement the database runs, for tests that count them. */
  onStatement?: (sql: string) => void;
  /** From `share()` of a handle in another thread of this process (src/jobs/backlog.ts). */
  share?: SharedWith;
  /** PostgreSQL: connections in the pool (10 by default). */
  poolSize?: number;
  /** SQLite: PRAGMAs set on each connection after its own (bench/sqlite-settings.ts compares settings). */
  pragmas?: readonly string[];
}

/**
 * What two threads of one process share to write to one database in turn: SQLite's write lock
 * (src/db/dialects/sqlite.ts); nothing on PostgreSQL, whose row locks are the server's.
 */
export interface SharedWith {
  writeLock?: SharedArrayBuffer;
}

const insertedColumnsOf = new WeakMap<PgTable, [key: string, column: Column][]>();

/** The columns `insertRows` writes: all but the id, in the table's order (the order drizzle's INSERT lists them). */
export function insertedColumns(table: PgTable): [key: string, column: Column][] {
  let columns = insertedColumnsOf.get(table);
  if (!columns) insertedColumnsOf.set(table, (columns = Object.entries(getTableColumns(table)).filter(([key]) => key !== 'id')));
  return columns;
}
