import { sql, type Column, type SQL } from 'drizzle-orm';
import type { Db } from './client.ts';

const cache = new WeakMap<Db['$client'], Map<string, unknown>>();

/**
 * A drizzle query built and prepared once per connection, then run with
 * `sql.placeholder` values. Building the SQL text and preparing it cost
 * several times what running a small indexed statement does: before this,
 * the deadline catch-up spent 60% of its CPU there.
 */
export function prepared<T>(db: Db, key: string, build: () => T): T {
  let statements = cache.get(db.$client);
  if (!statements) cache.set(db.$client, (statements = new Map()));
  let statement = statements.get(key) as T | undefined;
  if (statement === undefined) statements.set(key, (statement = build()));
  return statement;
}

/**
 * `column IN (the ids)` with the ids bound as one JSON array, so that one
 * prepared statement serves any number of them (pass `jsonIds(ids)`).
 */
export function inIds(column: Column, placeholder: string): SQL {
  return sql`${column} in (select value from json_each(${sql.placeholder(placeholder)}))`;
}

export const jsonIds = (ids: readonly number[]): string => JSON.stringify(ids);

/** A placeholder where drizzle's types want an SQL value (UPDATE ... SET). */
export const value = (name: string): SQL => sql`${sql.placeholder(name)}`;
