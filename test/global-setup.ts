import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Builds the pages once for every test file, if a fresh clone has none yet or they are older than their sources. */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = spawnSync(process.execPath, ['web/build-if-stale.mjs'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) throw new Error('building the pages (npm run build:web) failed');
}
