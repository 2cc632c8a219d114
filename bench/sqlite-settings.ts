import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { openSqlite } from '../src/db/dialects/sqlite.ts';
import { seedDeadlines } from './lib/seed.ts';

/**
 * `npx tsx bench/sqlite-settings.ts --a "temp_store=DEFAULT;mmap_size=0" --b ""`: two settings of the
 * service's SQLite connections, or two commits' code (--tree-a), compared on the deadline catch-up (the
 * bench's data: 1,000,000 rounds, 100,000 of them past due, 1,000 shops), in turns in one process. Each
 * side drains its own copy of the same seeded file with the service's rule (expireDueRequests), batch
 * after batch, in the order A B B A …, so a minute in which this shared host runs slow weighs on both:
 * run one after the other, two runs of the same code differed by up to 20% here, in turns by under 3%.
 *
 * --a, --b: PRAGMAs (";"-separated) set on both of that side's connections after the service's own;
 * --page-a, --page-b: a page size its copy is rebuilt with first (VACUUM; both, for a like layout);
 * --tree-a, --tree-b: a checkout (a `git worktree` of another commit) whose src/ that side runs;
 * --batch: rounds per transaction (4,000, as the backlog thread's). The seed is kept in the OS's temp
 * folder (sqlite-settings-base.db) for the next run; delete it after changing the schema or the seed.
 */
const { values } = parseArgs({
  options: {
    a: { type: 'string', default: '' },
    b: { type: 'string', default: '' },
    'page-a': { type: 'string' },
    'page-b': { type: 'string' },
    'tree-a': { type: 'string' },
    'tree-b': { type: 'string' },
    batch: { type: 'string', default: '4000' },
  },
});
const batch = Number(values.batch);
const base = path.join(os.tmpdir(), 'sqlite-settings-base.db');
const now = Date.now();
/** The seed's past-due rounds: the backlog each side drains. */
const DUE = 100_000;
if (!fs.existsSync(base)) {
  await openSqlite(base).close();
  await seedDeadlines(base, { rounds: 1_000_000, due: DUE, shops: 1_000, now });
}

type Rules = { openSqlite: typeof openSqlite; expireDueRequests: typeof import('../src/cases/deadlines.ts').expireDueRequests };
/** The service's code a side runs: this checkout's, or another's (--tree-a, --tree-b: a worktree of another commit). */
async function rules(tree = path.resolve(import.meta.dirname, '..')): Promise<Rules> {
  const from = (file: string) => import(pathToFileURL(path.join(tree, file)).href);
  return { openSqlite: (await from('src/db/dialects/sqlite.ts')).openSqlite, expireDueRequests: (await from('src/cases/deadlines.ts')).expireDueRequests };
}

const sides = await Promise.all((['a', 'b'] as const).map(async (name) => {
  const tree = values[`tree-${name}`];
  const { openSqlite, expireDueRequests } = await rules(tree);
  const pragmas = values[name].split(';').map((p) => p.trim()).filter(Boolean);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sqlite-settings-${name}-`));
  const file = path.join(dir, 'evidence.db');
  fs.copyFileSync(base, file);
  const pageSize = values[`page-${name}`];
  if (pageSize) {
    const client = new Database(file);
    client.pragma('journal_mode = DELETE');
    client.pragma(`page_size = ${Number(pageSize)}`);
    client.exec('VACUUM');
    client.pragma('journal_mode = WAL');
    client.close();
  }
  const db = openSqlite(file, { pragmas });
  const label = [...(tree ? [tree] : []), ...pragmas, ...(pageSize ? [`page_size=${pageSize}`] : [])].join('; ') || "the service's";
  return { name, label, db, expireDueRequests, dir, ms: 0, rounds: 0, done: false };
}));

// The instant the last of the seed's past-due rounds fell due, whenever it was seeded: later rounds stay open.
const seeded = new Database(base, { readonly: true });
const { dueAt: at } = seeded.prepare(`SELECT due_at AS dueAt FROM evidence_requests WHERE status = 'OPEN' ORDER BY due_at LIMIT 1 OFFSET ${DUE - 1}`).get() as { dueAt: number };
seeded.close();
for (let turn = 0; !sides.every((s) => s.done); turn++) {
  for (const side of turn % 2 ? [...sides].reverse() : sides) {
    if (side.done) continue;
    const started = performance.now();
    const { count } = await side.expireDueRequests(side.db, at, batch, { backlog: true });
    side.ms += performance.now() - started;
    side.rounds += count;
    side.done = count < batch;
  }
}
for (const side of sides) {
  console.log(`${side.name.toUpperCase()} (${side.label}): ${side.rounds} rounds in ${side.ms.toFixed(0)} ms = ${((side.rounds / side.ms) * 1000).toFixed(0)} rounds/s`);
  await side.db.close();
  fs.rmSync(side.dir, { recursive: true });
}
const [a, b] = sides;
console.log(`B / A: ${(a!.ms / b!.ms).toFixed(3)}`);
