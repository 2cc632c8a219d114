import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema, lexicographicSortSchema } from 'graphql';
import { schema } from '../schema/index.ts';

/** The SDL committed as schema.graphql; test/schema.test.ts fails when they drift. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(new URL('../../schema.graphql', import.meta.url), printedSchema());
  console.log('wrote schema.graphql');
}
