import fs from 'node:fs';

/**
 * `tsx bench/heap-summary.ts <after.heapsnapshot> [<before.heapsnapshot> <count>] [top]`:
 * what a heap holds, by kind and constructor (self sizes), from
 * `BENCH_HEAP_SNAPSHOT=1 npm run bench -- --only fanout`. Given the snapshot
 * before and the number of sockets opened in between, it shows what grew,
 * per socket: what each idle socket costs.
 */
const [file, baseFile, countArg, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/heap-summary.ts <after.heapsnapshot> [<before.heapsnapshot> <count>] [top]');
const count = Number(countArg ?? 1);
const limit = Number(topArg ?? 40);

type Rows = Map<string, { count: number; bytes: number }>;

function summarize(path: string): { rows: Rows; total: number } {
  const snapshot = JSON.parse(fs.readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const rows: Rows = new Map();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    // Strings and code by kind only; objects and closures by constructor or function name.
    const name = type === 'object' || type === 'closure' || type === 'native' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : '';
    const key = `${type} ${name}`.trim();
    const row = rows.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    rows.set(key, row);
    total += size;
  }
  return { rows, total };
}

const after = summarize(file);
const before = baseFile ? summarize(baseFile) : { rows: new Map() as Rows, total: 0 };
const grown = [...after.rows].map(([key, row]) => {
  const was = before.rows.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: (row.count - was.count) / count, bytes: (row.bytes - was.bytes) / count };
});
console.log(`${((after.total - before.total) / count / 1024).toFixed(2)} KiB of heap${baseFile ? ` per one of ${count}` : ''}`);
for (const { key, count: n, bytes } of grown.sort((a, b) => b.bytes - a.bytes).slice(0, limit)) {
  console.log(`${bytes.toFixed(0).padStart(8)} B ${n.toFixed(2).padStart(8)}  ${key.slice(0, 100)}`);
}
