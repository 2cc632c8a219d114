import { and, asc, DrizzleQueryError, eq, fillPlaceholders, getTableColumns, getTableName, gt, inArray, sql, type SQL } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { noChanges, type Changes } from '../changes.ts';
import { insertedColumns, type Db, type OpenOptions, type SharedWith, type Sql } from '../database.ts';
import { compileRowMapper, type RowMapper, type SelectedField } from '../row-mapper.ts';
import { postgresTables, type AfterSaleLogRow, type Tables } from '../schema.ts';

const MIGRATIONS = fileURLToPath(new URL('../../../drizzle/pg', import.meta.url));
/** Advisory lock keys: one for migrations, one namespace for the message boxes' stream locks. */
const MIGRATION_LOCK = 7_300_001;
const MESSAGE_BOX_LOCKS = 7_300_002;
/** serialization_failure, deadlock_detected, unique_violation (two inserts racing for one key). */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const MAX_ATTEMPTS = 5;

// int8 (bigint: times in ms, counts, max(id)) as JS numbers, not strings: every one of ours is below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));

function sqlStateOf(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string') return e.code;
  }
  return undefined;
}

type Root = NodePgDatabase<Tables> & { $client: pg.Pool };

/** drizzle's node-postgres prepared query, as far as `compiledRows` reads it (drizzle-orm/node-postgres/session.js). */
interface NodePgPrepared {
  fields?: SelectedField[];
  customResultMapper?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
  params: unknown[];
  queryConfig: pg.QueryArrayConfig;
  client: Pick<pg.Pool, 'query'>;
  logger: { logQuery(query: string, params: unknown[]): void };
  execute(values?: Record<string, unknown>): Promise<unknown[]>;
}

/**
 * A prepared select whose rows are built by a compiled mapper (src/db/row-mapper.ts)
 * instead of drizzle's: the same statement, parameters, type parsers, logging and
 * error (DrizzleQueryError), and the same row objects. Other statements are left as
 * they are. One mapper per statement name, kept in `mappers`.
 */
function compiledRows<P>(statement: P, key: string, mappers: Map<string, RowMapper | null>): P {
  const query = statement as unknown as NodePgPrepared;
  if (!query.fields || query.customResultMapper || !query.queryConfig) return statement;
  let map = mappers.get(key);
  if (map === undefined) mappers.set(key, (map = compileRowMapper(query.fields, query.joinsNotNullableMap)));
  if (!map) return statement;
  const { client, queryConfig, logger } = query;
  query.execute = async (values = {}) => {
    const params = fillPlaceholders(query.params, values);
    logger.logQuery(queryConfig.text, params);
    let rows: unknown[][];
    try {
      rows = (await client.query(queryConfig, params)).rows;
    } catch (error) {
      throw new DrizzleQueryError(queryConfig.text, params, error as Error);
    }
    return map(rows);
  };
  return statement;
}

/**
 * PostgreSQL through node-postgres. Writes run READ COMMITTED: each claim is
 * a conditional UPDATE (a second claimer waits for the row, then finds it no
 * longer matches), and each write first locks the after-sales it changes,
 * then the message boxes it writes to, always in that order and by id, so
 * two writes never deadlock and every log and message id is taken in commit
 * order within its stream.
 */
class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly t: Tables = postgresTables;
  private readonly lockedAfterSales = new Set<number>();
  private readonly lockedBoxes = new Set<string>();
  private readonly statements = new Map<string, unknown>();

  constructor(
    readonly q: Sql,
    private readonly root: Root,
    private readonly onCommit: (changes: Changes) => void,
    readonly changes: Changes | null = null,
    /** Compiled row mappers by statement name, shared with the transactions' handles. */
    private readonly mappers = new Map<string, RowMapper | null>(),
  ) {}

  /** Raw SQL, which only this dialect's code writes. */
  private get raw(): Pick<NodePgDatabase, 'execute'> {
    return this.q as unknown as Pick<NodePgDatabase, 'execute'>;
  }

  async write<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    if (this.changes) return work(this);
    for (let attempt = 1; ; attempt++) {
      const changes = noChanges();
      try {
        const result = await this.root.transaction((tx) => work(new PostgresDb(tx as unknown as Sql, this.root, this.onCommit, changes, this.mappers)), {
          isolationLevel: 'read committed',
        });
        this.onCommit(changes);
        return result;
      } catch (error) {
        const state = sqlStateOf(error);
        if (!state || !RETRYABLE.has(state) || attempt === MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
      }
    }
  }

  async lockAfterSales(ids: readonly number[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.lockedAfterSales.has(id)).sort((a, b) => a - b);
    if (wanted.length === 0) return;
    if (this.lockedBoxes.size > 0) throw new Error('lock order: after-sales are locked before message boxes');
    const { afterSales } = this.t;
    await this.q.select({ id: afterSales.id }).from(afterSales).where(inArray(afterSales.id, wanted)).orderBy(asc(afterSales.id)).for('update');
    for (const id of wanted) this.lockedAfterSales.add(id);
  }

  claimedAfterSales(ids: readonly number[]): void {
    if (ids.length > 0 && this.lockedBoxes.size > 0) throw new Error('lock order: after-sales are locked before message boxes');
    for (const id of ids) this.lockedAfterSales.add(id);
  }

  async lockMessageBoxes(merchantIds: readonly string[]): Promise<void> {
    const wanted = [...new Set(merchantIds)].filter((id) => !this.lockedBoxes.has(id));
    if (wanted.length === 0) return;
    // Taken in the order of their keys, so two writes locking several boxes never deadlock.
    await this.raw.execute(
      sql`select pg_advisory_xact_lock(${sql.raw(String(MESSAGE_BOX_LOCKS))}, k) from (select distinct hashtext(m) as k from unnest(${sql.param(wanted)}::text[]) as m order by k) as keys`,
    );
    for (const id of wanted) this.lockedBoxes.add(id);
  }

  prepared<P>(key: string, build: () => { prepare(name: string): P }): P {
    // A prepared query is bound to its session: the pool's are built once and kept, a transaction's
    // each time (its session lives as long as it does). The server keeps the parsed statement per
    // connection under the name either way.
    if (this.changes) return compiledRows(build().prepare(key), key, this.mappers);
    let statement = this.statements.get(key) as P | undefined;
    if (statement === undefined) this.statements.set(key, (statement = compiledRows(build().prepare(key), key, this.mappers)));
    return statement;
  }

  inIds(column: PgColumn | SQL, placeholder: string): SQL {
    return sql`${column} = any(${sql.placeholder(placeholder)})`;
  }

  ids(list: readonly number[]): unknown {
    // The array's text form, written here: pg would quote and escape each element of a JS array one by
    // one (a twentieth of the backlog thread's time, with five lists of 2,000 ids a batch).
    return `{${list.join(',')}}`;
  }

  idsRelation(placeholder: string): SQL {
    return sql`unnest(${sql.placeholder(placeholder)}::bigint[]) as wanted(value)`;
  }

  countsRelation(placeholder: string): SQL {
    return sql`(select r.v ->> 0 as key, (r.v ->> 1)::integer as n from jsonb_array_elements(${sql.placeholder(placeholder)}::jsonb) as r(v)) as counted`;
  }

  async insertRows(key: string, table: PgTable, list: readonly Record<string, unknown>[]): Promise<number[]> {
    if (list.length === 0) return [];
    const columns = insertedColumns(table);
    const insert = this.prepared(key, () => {
      // The id from the identity's sequence (INSERT ... SELECT has no DEFAULT), taken row by row in ordinality order.
      const sequence = sql.raw(`(select pg_get_serial_sequence('${getTableName(table)}', 'id'))::regclass`);
      const values = columns.map(([, column], i) => sql.raw(`(r.v ->> ${i})::${column.getSQLType()}`));
      const rows = sql`select nextval(${sequence}), ${sql.join(values, sql`, `)} from jsonb_array_elements(${sql.placeholder('rows')}::jsonb) with ordinality as r(v, n) order by r.n`;
      return this.q.insert(table).select(rows).returning({ id: getTableColumns(table).id! });
    });
    const inserted = (await insert.execute({ rows: JSON.stringify(list.map((row) => columns.map(([key]) => row[key] ?? null))) })) as { id: number }[];
    // The rows take their ids in the order given; RETURNING need not list them in that order.
    return inserted.map((r) => r.id).sort((a, b) => a - b);
  }

  firstLogLines(afterSaleIds: readonly number[], afterId: number, limit: number): Promise<AfterSaleLogRow[]> {
    const { afterSaleLogs } = this.t;
    const select = this.prepared('logs.firstOf', () => {
      const firsts = this.q
        .select()
        .from(afterSaleLogs)
        .where(and(eq(afterSaleLogs.afterSaleId, sql`wanted.value`), gt(afterSaleLogs.id, sql.placeholder('afterId'))))
        .orderBy(afterSaleLogs.id)
        .limit(sql.placeholder('limit'))
        .as('firsts');
      return this.q
        .select({
          id: firsts.id,
          afterSaleId: firsts.afterSaleId,
          at: firsts.at,
          actor: firsts.actor,
          actorId: firsts.actorId,
          action: firsts.action,
          summary: firsts.summary,
        })
        .from(this.idsRelation('ids'))
        .crossJoinLateral(firsts)
        .orderBy(firsts.afterSaleId, firsts.id);
    });
    return select.execute({ ids: this.ids(afterSaleIds), afterId, limit });
  }

  likeIgnoringCase(column: PgColumn, pattern: SQL): SQL {
    return sql`${column} ilike ${pattern} escape '\\'`;
  }

  forClaim<Q>(query: Q, table: Tables[keyof Tables]): Q {
    return (query as unknown as { for(strength: 'update', config: object): Q }).for('update', { of: table, skipLocked: true });
  }

  share(): SharedWith {
    return {};
  }

  /** Fails when the server does not answer within 3 s, so a readiness probe never hangs on the pool. */
  async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('PostgreSQL did not answer within 3 s')), 3000);
    });
    try {
      await Promise.race([this.raw.execute(sql`select 1`), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.root.$client.ended) await this.root.$client.end();
  }
}

/**
 * drizzle's migrator takes no lock: instances starting together on a new
 * database would each run the first migration. A session advisory lock
 * around it lets one run them while the others wait, then find them done.
 */
async function migrateOnce(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

export async function openPostgres(url: string, options: OpenOptions = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10, connectionTimeoutMillis: 30_000 });
  // An idle client that loses its server would otherwise crash the process with an unhandled 'error'.
  pool.on('error', (error) => console.error('idle PostgreSQL connection failed', error.message));
  try {
    await migrateOnce(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const logger = options.onStatement ? { logQuery: (query: string) => options.onStatement!(query) } : undefined;
  const root = drizzle(pool, { logger }) as unknown as Root;
  return new PostgresDb(root as unknown as Sql, root, options.onCommit ?? (() => {}));
}
