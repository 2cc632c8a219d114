// Builds the pages (codegen, then vite) when web/dist is missing or older than
// what it is made from. Run by `npm ci` (prepare), `npm start` (prestart) and
// the test suite's global setup, so a fresh clone serves its pages with no extra step.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const web = path.join(root, 'web');
const built = ['index.html', 'platform.html'].map((f) => path.join(web, 'dist', f));

function newest(entry) {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const name of fs.readdirSync(entry)) {
    if (name === 'gql' || name === 'dist' || name === 'node_modules') continue;
    latest = Math.max(latest, newest(path.join(entry, name)));
  }
  return latest;
}

export function pagesAreStale() {
  if (!built.every((f) => fs.existsSync(f))) return true;
  const builtAt = Math.min(...built.map((f) => fs.statSync(f).mtimeMs));
  return Math.max(newest(web), newest(path.join(root, 'schema.graphql'))) > builtAt;
}

export function buildPagesIfStale() {
  if (!pagesAreStale()) return;
  const run = spawnSync('npm', ['run', '--silent', 'build:web'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`npm run build:web failed (${run.status ?? run.signal})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    buildPagesIfStale();
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
