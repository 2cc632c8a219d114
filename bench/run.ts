import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Auth } from '../src/auth.ts';
import { BENCH_DIR, childNodeArgs } from './lib/child.ts';
import { met, type BenchContext, type Figure } from './lib/common.ts';
import { createStore, stopPostgres, type Dialect } from './lib/store.ts';
import { deadlines } from './deadlines.ts';
import { fanout } from './fanout.ts';
import { instances } from './instances.ts';
import { precision } from './precision.ts';
import { resumable } from './resumable.ts';
import { uploads } from './upload.ts';
import { workbench } from './workbench.ts';

/**
 * `npm run bench` runs every figure at full size (minutes); `-- --quick` runs
 * them at tiny sizes in seconds, so they never rot; `-- --only uploads,fanout`
 * runs some; `-- --profile` writes a CPU profile of every child process to
 * bench/profiles/; `-- --db pg` runs them on PostgreSQL (a throwaway server,
 * or TEST_DATABASE_URL's), `-- --db sqlite,pg` on both, one after the other.
 * Prints a table and writes bench/results.json (or --out); PostgreSQL's keys
 * start with `pg.`. `-- --catch-up-alone` runs the deadline catch-up with no
 * workbench requests beside it (its latency rows are then left out).
 */
const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<Figure[]>> = {
  workbench,
  uploads,
  resumable,
  fanout,
  deadlines,
  precision,
  instances,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    db: { type: 'string', default: 'sqlite' },
    'catch-up-alone': { type: 'boolean', default: false },
  },
});
const dialects = values.db!.split(',') as Dialect[];
for (const d of dialects) if (d !== 'sqlite' && d !== 'pg') throw new Error(`--db ${d}: the databases are sqlite and pg`);
const quick = values.quick!;
const only = values.only ? values.only.split(',') : Object.keys(SCENARIOS);
const out = path.resolve(values.out ?? path.join(BENCH_DIR, 'results.json'));
if (values.profile) {
  const dir = path.join(BENCH_DIR, 'profiles');
  fs.mkdirSync(dir, { recursive: true });
  // One folder per child: the loader thread of tsx writes a profile of its own beside the main thread's.
  childNodeArgs.push('--cpu-prof', `--cpu-prof-dir=${dir}/%NAME%`);
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
  };
}

function format(n: number | undefined): string {
  if (n === undefined) return '';
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) || Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : Math.abs(n) >= 1 ? 2 : 3);
}

function table(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const ok = met(f);
    return [
      f.label,
      `${format(f.value)} ${f.unit}`,
      f.baseline === undefined ? '' : `${format(f.baseline)} ${f.unit}`,
      f.target ? `${f.target.op} ${format(f.target.value)}` : '',
      ok === null ? '' : ok ? 'met' : 'NOT MET',
    ];
  });
  const head = ['figure', 'value', 'raw baseline', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-bench-'));
const secret = `bench-${Math.random().toString(36).slice(2)}-secret-0123456789`;
const notes: Record<string, string> = {};
const context = (db: Dialect): BenchContext => ({
  quick,
  catchUpAlone: values['catch-up-alone']!,
  db,
  secret,
  auth: new Auth(secret),
  dir(name) {
    const dir = path.join(root, db, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  },
  store(name) {
    return createStore(db, this.dir(name), name);
  },
  log: (...args) => console.log('  ', ...args),
  note(title, text) {
    notes[db === 'pg' ? `PostgreSQL: ${title}` : title] = text;
  },
});
/** PostgreSQL's figures sit beside SQLite's in one file: `pg.workbench.ratio` beside `workbench.ratio`. */
const marked = (db: Dialect, f: Figure): Figure => (db === 'pg' ? { ...f, key: `pg.${f.key}`, label: `PostgreSQL: ${f.label}` } : f);

const started = Date.now();
const figures: Figure[] = [];
const failures: Record<string, string> = {};
const loads: Record<string, number[]> = {};
// Stopped from outside (Ctrl-C, a timeout): the throwaway PostgreSQL must not outlive the run.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping`);
    void stopPostgres().finally(() => process.exit(130));
  });
}
try {
  for (const db of dialects) {
    const ctx = context(db);
    for (const name of only) {
      const scenario = SCENARIOS[name];
      if (!scenario) throw new Error(`no scenario "${name}"; there are ${Object.keys(SCENARIOS).join(', ')}`);
      const title = db === 'pg' ? `pg.${name}` : name;
      console.log(`${title}${quick ? ' (quick)' : ''}, load average ${os.loadavg()[0]!.toFixed(2)}`);
      const t0 = performance.now();
      try {
        figures.push(...(await scenario(ctx)).map((f) => marked(db, f)));
      } catch (error) {
        failures[title] = String((error as Error).stack ?? error);
        console.error(`  ${title} failed:`, error);
      }
      // The machine is shared: the 1-minute load average as the scenario ends says what else ran beside it.
      loads[title] = os.loadavg().map((l) => Math.round(l * 100) / 100);
      console.log(`   ${title}: ${((performance.now() - t0) / 1000).toFixed(1)} s, load average ${loads[title]!.join(' ')}`);
    }
  }
} finally {
  await stopPostgres();
  fs.rmSync(root, { recursive: true, force: true });
}

const results = {
  mode: quick ? 'quick' : 'full',
  databases: dialects,
  startedAt: new Date(started).toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  machine: machine(),
  figures: Object.fromEntries(
    figures.map((f) => [f.key, { label: f.label, value: f.value, unit: f.unit, baseline: f.baseline, target: f.target, met: met(f) }]),
  ),
  loadAverages: loads,
  notes,
  failures,
};
fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\n${table(figures)}\n`);
for (const [title, text] of Object.entries(notes)) console.log(`${title}\n${text}\n`);
console.log(`${results.machine.nproc} × ${results.machine.cpu}, node ${results.machine.node}; ${results.durationSeconds} s; written to ${path.relative(process.cwd(), out)}`);
if (Object.keys(failures).length) console.error(`failed: ${Object.keys(failures).join(', ')}`);
// Sockets a failed scenario left open must not keep the bench running.
process.exit(Object.keys(failures).length ? 1 : 0);
