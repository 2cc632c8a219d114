import Database from 'better-sqlite3';
import fs from 'node:fs';
import { openSqlite } from '../../src/db/dialects/sqlite.ts';

/**
 * Multi-row INSERTs through one prepared statement per table: far faster than
 * one statement per row, and only bench code writes SQL this way.
 */
export class Bulk {
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

/**
 * Creates the schema with the service's own migrations, then hands a raw
 * connection tuned for loading (no journal, indexes dropped and rebuilt once
 * at the end, which is much cheaper than keeping them up to date row by row).
 */
export function bulkLoad(file: string, fill: (tables: Record<Table, Bulk>, db: Database.Database) => void): void {
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
    Object.entries(COLUMNS).map(([table, columns]) => [table, new Bulk(db, table, [...columns])]),
  ) as Record<Table, Bulk>;
  db.transaction(() => {
    fill(tables, db);
    for (const bulk of Object.values(tables)) bulk.flush();
  })();
  for (const { sql } of indexes) db.exec(sql);
  db.pragma('journal_mode = WAL');
  db.close();
  // Loading ran without syncs; flush now, or the service's first fsync would pay for the whole seed.
  const fd = fs.openSync(file, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}
