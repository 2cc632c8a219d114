import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.ts';
import { onPostgres } from './stored.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Benchmarks are not tests; this only keeps them from rotting: the quick mode runs every scenario at tiny sizes.
// It runs the SQLite figures in a child of its own whatever the project, so once (the sqlite half) is enough.
describe.skipIf(onPostgres)('npm run bench -- --quick', () => {
  it('runs every benchmark at tiny sizes, exits 0 and reports every figure as a finite number', async () => {
    const dir = tempDir('bench-quick-');
    const out = path.join(dir, 'results.json');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c) => (output += c));
      child.stderr.on('data', (c) => (output += c));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code, output).toBe(0);

      const results = JSON.parse(fs.readFileSync(out, 'utf8'));
      expect(results.mode).toBe('quick');
      expect(results.failures).toEqual({});
      const figures = Object.entries(results.figures) as [string, { value: number; baseline?: number }][];
      expect(figures.map(([key]) => key.split('.')[0])).toEqual(expect.arrayContaining(['workbench', 'upload', 'resumable', 'fanout', 'deadlines', 'precision']));
      for (const [key, figure] of figures) {
        expect(Number.isFinite(figure.value), key).toBe(true);
        if (figure.baseline !== undefined) expect(Number.isFinite(figure.baseline), `${key} baseline`).toBe(true);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
