import Database from 'better-sqlite3';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openPostgres } from '../../src/db/dialects/postgres.ts';
import { openSqlite } from '../../src/db/dialects/sqlite.ts';

/** One table's rows as the seed pushes them. */
export interface Bulk {
  push(...row: unknown[]): void;
}

/**
 * Multi-row INSERTs through one prepared statement per table: far faster than
 * one statement per row, and only bench code writes SQL this way.
 */
export class SqliteBulk implements Bulk {
  private readonly values: unknown[] = [];
  private readonly full: Database.Statement;
  private readonly rowsPerStatement: number;
  count = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly table: string,
    private readonly columns: string[],
  ) {
    // Stay under SQLite's limit of 32,766 bound values per statement.
    this.rowsPerStatement = Math.min(1000, Math.floor(30_000 / columns.length));
    this.full = db.prepare(this.sql(this.rowsPerStatement));
  }

  private sql(rows: number): string {
    const row = `(${this.columns.map(() => '?').join(',')})`;
    return `INSERT INTO ${this.table} (${this.columns.join(',')}) VALUES ${Array(rows).fill(row).join(',')}`;
  }

  push(...row: unknown[]): void {
    for (const v of row) this.values.push(v);
    this.count++;
    if (this.values.length === this.rowsPerStatement * this.columns.length) {
      this.full.run(this.values);
      this.values.length = 0;
    }
  }

  flush(): void {
    if (this.values.length === 0) return;
    this.db.prepare(this.sql(this.values.length / this.columns.length)).run(this.values);
    this.values.length = 0;
  }
}

export const COLUMNS = {
  merchants: ['id', 'name', 'created_at'],
  after_sales: [
    'id', 'merchant_id', 'number', 'order_number', 'type', 'reason', 'buyer_claim', 'amount_cents', 'status',
    'applied_at', 'created_at', 'outcome', 'decided_by', 'decided_at', 'opinion',
  ],
  evidence_requests: [
    'id', 'after_sale_id', 'merchant_id', 'instructions', 'requested_by', 'requested_at', 'due_at', 'status', 'reminded_at', 'closed_at',
  ],
  evidence_submissions: [
    'id', 'request_id', 'after_sale_id', 'merchant_id', 'explanation', 'submitted_by', 'submitted_at', 'idempotency_key', 'fingerprint',
  ],
  evidence_files: ['id', 'submission_id', 'merchant_id', 'position', 'file_name', 'content_type', 'byte_size', 'sha256'],
  after_sale_logs: ['id', 'after_sale_id', 'at', 'actor', 'actor_id', 'action', 'summary'],
  messages: ['id', 'merchant_id', 'after_sale_id', 'kind', 'title', 'body', 'created_at', 'read_at'],
} as const;

export type Table = keyof typeof COLUMNS;

export type Fill = (tables: Record<Table, Bulk>) => void;

/** Where a seed goes: a SQLite file's path, or a PostgreSQL URL (postgres://…). */
export async function bulkLoad(target: string, fill: Fill): Promise<void> {
  if (/^postgres(ql)?:\/\//.test(target)) await bulkLoadPostgres(target, fill);
  else bulkLoadSqlite(target, fill);
}

/**
 * Creates the schema with the service's own migrations, then hands a raw
 * connection tuned for loading (no journal, indexes dropped and rebuilt once
 * at the end, which is much cheaper than keeping them up to date row by row).
 */
function bulkLoadSqlite(file: string, fill: Fill): void {
  // Opening migrates; SQLite's close has nothing to wait for, so it is done when the call returns.
  void openSqlite(file).close();
  const db = new Database(file);
  db.pragma('journal_mode = DELETE');
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  db.pragma('foreign_keys = OFF');
  const indexes = db
    .prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
    .all() as { name: string; sql: string }[];
  for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
  const tables = Object.fromEntries(
    Object.entries(COLUMNS).map(([table, columns]) => [table, new SqliteBulk(db, table, [...columns])]),
  ) as Record<Table, SqliteBulk>;
  db.transaction(() => {
    fill(tables);
    for (const bulk of Object.values(tables)) bulk.flush();
  })();
  for (const { sql } of indexes) db.exec(sql);
  db.exec(RECOUNT);
  db.pragma('journal_mode = WAL');
  db.close();
  // Loading ran without syncs; flush now, or the service's first fsync would pay for the whole seed.
  const fd = fs.openSync(file, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** One value in COPY's text format: \N for NULL, and backslash, tab, newline and CR escaped. */
function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : s;
}

/** Rows in COPY's text format, kept in chunks of a few thousand lines until the load sends them. */
class CopyBulk implements Bulk {
  readonly chunks: string[] = [];
  private lines: string[] = [];
  count = 0;

  push(...row: unknown[]): void {
    this.lines.push(row.map(copyText).join('\t'));
    this.count++;
    if (this.lines.length === 5000) this.flush();
  }

  flush(): void {
    if (this.lines.length) this.chunks.push(`${this.lines.join('\n')}\n`);
    this.lines = [];
  }
}

/** What the rules keep beside the rows, set once after a load: each shop's count of OPEN rounds. */
const RECOUNT = `UPDATE merchants SET open_rounds = (SELECT count(*) FROM evidence_requests r WHERE r.merchant_id = merchants.id AND r.status = 'OPEN')`;

/** Tables in the order their foreign keys need. */
const LOAD_ORDER: Table[] = ['merchants', 'after_sales', 'evidence_requests', 'evidence_submissions', 'evidence_files', 'after_sale_logs', 'messages'];

/**
 * PostgreSQL: the service's own migrations create the schema; then the
 * indexes (other than primary keys) and foreign keys are dropped, every table
 * is loaded with one COPY, the indexes are built and the foreign keys checked
 * once each, identity sequences are moved past the seeded ids, and VACUUM
 * ANALYZE leaves the statistics and visibility map a long-running database
 * would have.
 */
async function bulkLoadPostgres(url: string, fill: Fill): Promise<void> {
  await (await openPostgres(url)).close();
  const tables = Object.fromEntries(LOAD_ORDER.map((t) => [t, new CopyBulk()])) as Record<Table, CopyBulk>;
  fill(tables);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: fks } = await client.query<{ table: string; name: string; def: string }>(
      `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS def
       FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace`,
    );
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
       WHERE i.schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    );
    for (const fk of fks) await client.query(`ALTER TABLE ${fk.table} DROP CONSTRAINT "${fk.name}"`);
    for (const index of indexes) await client.query(`DROP INDEX "${index.name}"`);
    for (const table of LOAD_ORDER) {
      const bulk = tables[table];
      bulk.flush();
      if (bulk.count === 0) continue;
      const chunks = bulk.chunks.splice(0);
      await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table} (${COLUMNS[table].join(',')}) FROM STDIN`)));
    }
    await client.query('SET maintenance_work_mem = \'256MB\'');
    for (const index of indexes) await client.query(index.def);
    await client.query(RECOUNT);
    for (const fk of fks) await client.query(`ALTER TABLE ${fk.table} ADD CONSTRAINT "${fk.name}" ${fk.def}`);
    const { rows: identities } = await client.query<{ table: string; column: string }>(
      `SELECT table_name AS table, column_name AS column FROM information_schema.columns WHERE table_schema = 'public' AND is_identity = 'YES'`,
    );
    for (const { table, column } of identities) {
      await client.query(`SELECT setval(pg_get_serial_sequence('${table}', '${column}'), coalesce((SELECT max(${column}) FROM ${table}), 0) + 1, false)`);
    }
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}
