import Database from 'better-sqlite3';
import { and, eq, fillPlaceholders, getTableColumns, getTableName, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { alias, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { noChanges, type Changes } from '../changes.ts';
import { insertedColumns, type Db, type OpenOptions, type SharedWith, type Sql } from '../database.ts';
import { compileRowMapper, type SelectedField } from '../row-mapper.ts';
import { sqliteTables, type AfterSaleLogRow, type Tables } from '../schema.ts';

const MIGRATIONS = fileURLToPath(new URL('../../../drizzle/sqlite', import.meta.url));

/**
 * One writer at a time in this process, per database file, across its threads
 * (the backlog thread, src/jobs/backlog.ts, writes beside the main one); other
 * processes wait on BEGIN IMMEDIATE. Every handle of one file in the process
 * must share it: a write holds SQLite's lock across awaits, and another
 * handle's BEGIN would block its event loop in SQLite's busy handler (which
 * sleeps) while the first needs that loop, or its own thread, to finish.
 *
 * The lock is a word in shared memory, [holder (thread id + 1, or 0), threads
 * waiting]: a thread waits for it with Atomics.waitAsync, never blocking its
 * event loop. Within a thread, writes queue in order behind one another, so
 * each thread has at most one write waiting on the word. A thread that wants
 * the lock again while another waits lets that one have it first, so a
 * backlog's stream of transactions does not starve a request's write.
 */
class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly word: Int32Array;
  private readonly me = threadId + 1;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.word = new Int32Array(buffer);
  }

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      await this.acquire();
      try {
        return await work();
      } finally {
        releaseWriteLock(this.buffer, this.me);
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async acquire(): Promise<void> {
    const word = this.word;
    // Another thread waits for the lock that is free now: it is about to take it (bounded, should it be gone).
    if (Atomics.load(word, 1) > 0 && Atomics.load(word, 0) === 0) await Atomics.waitAsync(word, 0, 0, HAND_OVER_MS).value;
    if (Atomics.compareExchange(word, 0, 0, this.me) === 0) return;
    Atomics.add(word, 1, 1);
    try {
      for (;;) {
        const holder = Atomics.compareExchange(word, 0, 0, this.me);
        if (holder === 0) break;
        await Atomics.waitAsync(word, 0, holder).value;
      }
    } finally {
      Atomics.sub(word, 1, 1);
    }
    // Wakes a thread that stood back in the first line above.
    Atomics.notify(word, 0);
  }
}

/** How long a thread stands back for a waiting one before it tries for the lock anyway. */
const HAND_OVER_MS = 50;

/**
 * Frees a file's write lock if thread `holder` (id + 1) holds it: after each write, and for a thread
 * that ended while it held it (src/jobs/backlog.ts), so the others are not left waiting for ever.
 */
export function releaseWriteLock(buffer: SharedArrayBuffer, holder: number): void {
  const word = new Int32Array(buffer);
  if (Atomics.compareExchange(word, 0, holder, 0) === holder) Atomics.notify(word, 0);
}

const BUSY_TIMEOUT_MS = 10_000;
/** Rows a statement of insertRows: 32 x the columns stays far under SQLite's 32,766 bound values. */
const INSERT_CHUNK = 32;
/** A new database file's page size. */
const PAGE_BYTES = 8192;
/** How much of the database file is read through a memory map. */
const MMAP_BYTES = 1024 * 1024 * 1024;

/**
 * WAL mode, once per file. Asking for it takes a lock, and SQLite answers SQLITE_BUSY at once, without
 * the busy handler, while another process holds the file in a way that blocks it (seen when a second
 * process started beside one under write load): so only where the file is not WAL yet, and retried.
 */
function useWal(client: Database.Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (client.pragma('journal_mode', { simple: true }) !== 'wal') client.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

/** drizzle's better-sqlite3 prepared query, as far as `compiledRows` reads it (drizzle-orm/better-sqlite3/session.js). */
interface BetterSqlitePrepared {
  fields?: SelectedField[];
  customResultMapper?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
  query: { sql: string; params: unknown[] };
  stmt: Database.Statement;
  logger: { logQuery(query: string, params: unknown[]): void };
  all(values?: Record<string, unknown>): unknown[];
}

/**
 * A prepared select whose rows are built by a compiled mapper (src/db/row-mapper.ts)
 * instead of drizzle's: the same statement, parameters and logging, and the same row
 * objects (`execute` runs `all`). Other statements are left as they are.
 */
function compiledRows<P>(statement: P): P {
  const query = statement as unknown as BetterSqlitePrepared;
  if (!query.fields || query.customResultMapper || !query.stmt) return statement;
  const map = compileRowMapper(query.fields, query.joinsNotNullableMap);
  if (!map) return statement;
  const { stmt, logger } = query;
  query.all = (values = {}) => {
    const params = fillPlaceholders(query.query.params, values);
    logger.logQuery(query.query.sql, params);
    return map(stmt.raw().all(...params) as unknown[][]);
  };
  return statement;
}

function connect(file: string, options: OpenOptions): Database.Database {
  // The busy timeout first, so every statement below waits for another process's write instead of failing.
  const client = new Database(file, { timeout: BUSY_TIMEOUT_MS, ...(options.onStatement ? { verbose: (text: unknown) => options.onStatement!(String(text)) } : {}) });
  // 8 KiB pages instead of 4 KiB, for a new file (one with pages keeps its own): a catch-up batch changes
  // rows scattered over the rounds' table, and with twice the rows a page it writes fewer pages, each
  // two write calls to the WAL (catch-up 1.07 and 1.21 x as fast, 16 KiB no faster than 8: bench/sqlite-settings.ts).
  client.pragma(`page_size = ${PAGE_BYTES}`);
  useWal(client);
  client.pragma('synchronous = FULL');
  client.pragma('foreign_keys = ON');
  // A 32 MiB page cache instead of 2 MiB: a deadline catch-up batch touches ~1,200 pages, which spilled
  // out of the default cache mid-transaction (catch-up 19-20k -> 21.7-22.2k rounds/s on the bench).
  client.pragma('cache_size = -32768');
  // Checkpoint every ~40 MB of WAL instead of 4 MB: a deadline catch-up batch writes ~1,200 pages,
  // so the default checkpointed on nearly every batch (same durability, fewer, larger checkpoints).
  client.pragma('wal_autocheckpoint = 10000');
  // A statement that changes many rows inside a transaction (a catch-up batch's claim, its inserts) keeps
  // the pages it changes in a statement journal, to undo that statement alone should it fail: in memory,
  // not in a temporary file (two write system calls a page, 200,000 in a catch-up of 100,000 rounds).
  client.pragma('temp_store = MEMORY');
  // Reads the file through a memory map instead of a read system call per page missing from the cache
  // (the first GiB; writes still go through the WAL). The two: catch-up 1.08-1.13 x as fast, in four runs
  // of bench/sqlite-settings.ts (temp_store: 1.05, mmap: 1.03 more).
  client.pragma(`mmap_size = ${MMAP_BYTES}`);
  for (const pragma of options.pragmas ?? []) client.pragma(pragma);
  return client;
}

/**
 * SQLite: a connection that only reads (WAL: it sees the last commit, never a
 * write in progress) and one that only writes, one transaction at a time.
 * better-sqlite3 runs each statement synchronously, so a transaction whose
 * work awaits must not be better-sqlite3's own (it would commit at the first
 * await): BEGIN IMMEDIATE and COMMIT are ours, around the awaited work,
 * under an in-process lock. One writer also means ids are taken in commit
 * order, so the stream locks have nothing to do here.
 */
class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly t: Tables = sqliteTables;
  readonly q: Sql;
  changes: Changes | null = null;
  private readonly statements = new Map<string, unknown>();
  private readonly inserts = new Map<string, { one: Database.Statement; chunk: Database.Statement; keys: string[] }>();

  constructor(
    readonly client: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.q = drizzle(client) as BetterSQLite3Database as unknown as Sql;
  }

  write<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    if (this.changes) return work(this);
    return this.writer.run(work);
  }

  async lockAfterSales(): Promise<void> {}
  async lockMessageBoxes(): Promise<void> {}
  claimedAfterSales(): void {}

  prepared<P>(key: string, build: () => { prepare(name: string): P }): P {
    let statement = this.statements.get(key) as P | undefined;
    if (statement === undefined) this.statements.set(key, (statement = compiledRows(build().prepare(key))));
    return statement;
  }

  inIds(column: PgColumn | SQL, placeholder: string): SQL {
    return sql`${column} in (select value from json_each(${sql.placeholder(placeholder)}))`;
  }

  ids(list: readonly number[]): unknown {
    return JSON.stringify(list);
  }

  idsRelation(placeholder: string): SQL {
    return sql`json_each(${sql.placeholder(placeholder)}) as wanted`;
  }

  countsRelation(placeholder: string): SQL {
    return sql`(select value ->> 0 as key, value ->> 1 as n from json_each(${sql.placeholder(placeholder)})) as counted`;
  }

  async insertRows(key: string, table: PgTable, list: readonly Record<string, unknown>[]): Promise<number[]> {
    // Only a write's connection writes: the one outside writes takes no write lock.
    if (!this.changes) throw new Error('insertRows outside a write');
    let insert = this.inserts.get(key);
    if (!insert) {
      const columns = insertedColumns(table);
      const row = `(${columns.map(() => '?').join(', ')})`;
      const into = `insert into "${getTableName(table)}" (${columns.map(([, c]) => `"${c.name}"`).join(', ')}) values `;
      insert = { one: this.client.prepare(into + row), chunk: this.client.prepare(into + Array(INSERT_CHUNK).fill(row).join(', ')), keys: columns.map(([k]) => k) };
      this.inserts.set(key, insert);
    }
    // In the process a statement costs no round trip, so the rows go in chunks of a multi-row VALUES, each
    // prepared once, instead of as JSON to build, parse back and sort: for 8,000 log lines in a transaction,
    // one row a statement took 0.67-0.73 of the time of one INSERT ... SELECT from json_each, and 32 rows
    // a statement 0.68-0.70 of that (bench/sqlite-settings.ts --tree-a: the catch-up 1.12-1.20 x as fast
    // with one row a statement). The rows of one statement take consecutive ids (one writer; a rowid is the
    // largest yet + 1), so the last one's id gives the others'.
    const { one, chunk, keys } = insert;
    const width = keys.length;
    /** Binds `rows` rows from `list[from]` on into `values`, each row's columns in `keys` order. */
    const bind = (values: unknown[], from: number, rows: number) => {
      for (let r = 0; r < rows; r++) {
        const row = list[from + r]!;
        for (let c = 0; c < width; c++) values[r * width + c] = row[keys[c]!] ?? null;
      }
      return values;
    };
    const ids = new Array<number>(list.length);
    const values = new Array<unknown>(INSERT_CHUNK * width);
    let i = 0;
    for (; i + INSERT_CHUNK <= list.length; i += INSERT_CHUNK) {
      const last = Number(chunk.run(bind(values, i, INSERT_CHUNK)).lastInsertRowid);
      for (let r = 0; r < INSERT_CHUNK; r++) ids[i + r] = last - INSERT_CHUNK + 1 + r;
    }
    const single = new Array<unknown>(width);
    for (; i < list.length; i++) ids[i] = Number(one.run(bind(single, i, 1)).lastInsertRowid);
    return ids;
  }

  firstLogLines(afterSaleIds: readonly number[], afterId: number, limit: number): Promise<AfterSaleLogRow[]> {
    const { afterSaleLogs } = this.t;
    const select = this.prepared('logs.firstOf', () => {
      const page = alias(afterSaleLogs, 'page');
      const firstIds = this.q
        .select({ id: page.id })
        .from(page)
        .where(and(eq(page.afterSaleId, sql`wanted.value`), gt(page.id, sql.placeholder('afterId'))))
        .orderBy(page.id)
        .limit(sql.placeholder('limit'));
      return this.q
        .select(getTableColumns(afterSaleLogs))
        .from(this.idsRelation('ids'))
        .innerJoin(afterSaleLogs, inArray(afterSaleLogs.id, firstIds))
        .orderBy(afterSaleLogs.afterSaleId, afterSaleLogs.id);
    });
    return select.execute({ ids: this.ids(afterSaleIds), afterId, limit });
  }

  likeIgnoringCase(column: PgColumn, pattern: SQL): SQL {
    // SQLite's LIKE ignores ASCII case already (after-sale and order numbers are ASCII).
    return sql`${column} like ${pattern} escape '\\'`;
  }

  forClaim<Q>(query: Q): Q {
    return query;
  }

  share(): SharedWith {
    return { writeLock: this.writer.lock.buffer };
  }

  async ping(): Promise<void> {
    this.client.prepare('select 1').get();
  }

  async close(): Promise<void> {
    this.writer.close();
    this.client.close();
  }
}

const writeLocks = new Map<string, WriteLock>();

class SqliteWriter {
  readonly lock: WriteLock;
  readonly db: SqliteDb;

  constructor(
    readonly client: Database.Database,
    private readonly onCommit: (changes: Changes) => void,
    share: SharedWith = {},
  ) {
    const file = path.resolve(client.name);
    let lock = writeLocks.get(file);
    if (!lock) writeLocks.set(file, (lock = new WriteLock(share.writeLock)));
    this.lock = lock;
    this.db = new SqliteDb(client, this);
  }

  run<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      // IMMEDIATE takes the write lock at once, so two processes never both read and then both
      // try to upgrade (which SQLite answers with SQLITE_BUSY at once, ignoring the busy timeout).
      this.client.exec('BEGIN IMMEDIATE');
      const changes = (this.db.changes = noChanges());
      try {
        const result = await work(this.db);
        this.client.exec('COMMIT');
        this.db.changes = null;
        this.onCommit(changes);
        return result;
      } catch (error) {
        this.db.changes = null;
        if (this.client.inTransaction) this.client.exec('ROLLBACK');
        throw error;
      }
    });
  }

  close(): void {
    this.client.close();
  }
}

/**
 * drizzle's migrator reads which migrations ran before it takes the write lock,
 * so two processes starting together on a new file can both try the first one;
 * the loser fails ("table already exists") and rolls back. Running it again
 * then finds the work done. A migration that is really broken fails every time.
 */
function migrateBesideOthers(client: Database.Database): void {
  const db = drizzle(client);
  for (let attempt = 1; ; attempt++) {
    try {
      return migrate(db, { migrationsFolder: MIGRATIONS });
    } catch (error) {
      if (attempt === 5) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 * attempt);
    }
  }
}

/** Opens (or creates) the SQLite file and brings it to the newest migration. */
export function openSqlite(file: string, options: OpenOptions = {}): Db {
  const writerClient = connect(file, options);
  migrateBesideOthers(writerClient);
  const writer = new SqliteWriter(writerClient, options.onCommit ?? (() => {}), options.share);
  return new SqliteDb(connect(file, options), writer);
}
