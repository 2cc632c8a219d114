import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../src/cli/print-schema.ts';

describe('schema.graphql', () => {
  it('matches a fresh print of the code-first schema (run `npm run schema:print` after changing it)', () => {
    const committed = fs.readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printedSchema());
  });

  it('describes every field and enum value', () => {
    const { schema } = { schema: printedSchema() };
    // Every definition line inside a type body is preceded by a description line.
    const lines = schema.split('\n');
    const undocumented: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const isMember = /^ {2}[A-Za-z_]\w*[(:]/.test(line) || /^ {2}[A-Z][A-Z_]+$/.test(line);
      if (isMember && !/"""$|"$/.test(lines[i - 1]!.trim())) undocumented.push(line.trim());
    }
    expect(undocumented).toEqual([]);
  });
});
