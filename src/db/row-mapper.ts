import { Column, getTableName, is, noopDecoder, SQL, Subquery } from 'drizzle-orm';

/** A selected field as drizzle keeps it on a prepared select: where it goes in the row object, and what it is. */
export interface SelectedField {
  path: string[];
  field: unknown;
}

type Decoder = { mapFromDriverValue(value: unknown): unknown };
/** The rows of one run of the statement, as drizzle hands them back. */
export type RowMapper = (rows: unknown[][]) => Record<string, unknown>[];

/** The decoder drizzle's mapResultRow uses for a field (drizzle-orm/utils.js). */
function decoderOf(field: unknown): Decoder {
  type Decoded = { decoder: Decoder };
  if (is(field, Column)) return field;
  if (is(field, SQL)) return (field as unknown as Decoded).decoder;
  if (is(field, Subquery)) return (field as unknown as { _: { sql: Decoded } })._.sql.decoder;
  return (field as { sql: Decoded }).sql.decoder;
}

/** True when a decoder hands the driver's value back unchanged: a column that does not override it (text, enums), a plain `sql`. */
function isIdentity(decoder: Decoder): boolean {
  return decoder.mapFromDriverValue === Column.prototype.mapFromDriverValue || decoder.mapFromDriverValue === noopDecoder.mapFromDriverValue;
}

/**
 * The row objects drizzle builds from the driver rows of a prepared select
 * (drizzle's `mapResultRow`), as one compiled function per query: an object
 * literal whose keys are the selected fields, each value decoded as drizzle
 * decodes it. drizzle's own mapping walks every field's path through an
 * iterator and checks its kind on each row: on the workbench page that was
 * 8% of the service's CPU and a good part of its garbage. Answers null where
 * drizzle's mapping does more than this one can: paths deeper than two, or
 * a join whose table may be missing from a row (drizzle then turns its
 * all-null object into null); such queries keep drizzle's mapping.
 */
export function compileRowMapper(fields: readonly SelectedField[], joinsNotNullableMap?: Record<string, boolean>): RowMapper | null {
  if (fields.some((f) => f.path.length < 1 || f.path.length > 2)) return null;
  if (joinsNotNullableMap) {
    for (const { path, field } of fields) {
      if (path.length === 2 && is(field, Column) && !joinsNotNullableMap[getTableName(field.table)]) return null;
    }
  }
  const decoders: ((value: unknown) => unknown)[] = [];
  const bindings: string[] = [];
  const valueAt = (i: number): string => {
    const decoder = decoderOf(fields[i]!.field);
    if (isIdentity(decoder)) return `r[${i}]`;
    bindings.push(`const d${i} = d[${decoders.length}];`);
    decoders.push((value) => decoder.mapFromDriverValue(value));
    return `(r[${i}] === null ? null : d${i}(r[${i}]))`;
  };
  // Keys in the order drizzle adds them, grouped under their first path element.
  const groups = new Map<string, string | [key: string, value: string][]>();
  fields.forEach(({ path }, i) => {
    const [outer, inner] = path as [string, string | undefined];
    if (inner === undefined) groups.set(outer, valueAt(i));
    else {
      let group = groups.get(outer);
      if (!Array.isArray(group)) groups.set(outer, (group = []));
      group.push([inner, valueAt(i)]);
    }
  });
  const literal = (entries: Iterable<[string, string | [string, string][]]>): string =>
    `{ ${[...entries].map(([key, value]) => `${JSON.stringify(key)}: ${typeof value === 'string' ? value : literal(value)}`).join(', ')} }`;
  const row = literal(groups);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the keys are our own column names, JSON-quoted
  return new Function(
    'd',
    `${bindings.join(' ')}
    return function mapRows(rows) {
      const mapped = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) { const r = rows[i]; mapped[i] = ${row}; }
      return mapped;
    };`,
  )(decoders) as RowMapper;
}
