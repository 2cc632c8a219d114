import inspector from 'node:inspector/promises';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { seedShops } from './lib/seed.ts';
import { dbFile, gid, REQUEST_EVIDENCE } from './lib/common.ts';
import { Auth } from '../src/auth.ts';
import type { AddressInfo } from 'node:net';

const dir = fs.mkdtempSync('/tmp/fanout-prof/d-');
const SOCKETS = Number(process.env.SOCKETS ?? 2000);
const EVENTS = 5;
const { afterSaleIds } = seedShops(dbFile(dir), { shops: 1, perShop: EVENTS, now: Date.now() });
const secret = 'prof-secret-0123456789abcdef';
const app = await createApp(loadConfig({ NODE_ENV: 'production', AUTH_SECRET: secret, DATA_DIR: dir, HOST: '127.0.0.1', PORT: '0', SEED: 'none' }));
await app.start();
const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const auth = new Auth(secret);
const token = await auth.sign({ role: 'merchant', sub: 's', merchantId: 'shop-0000' });
const platform = await auth.sign({ role: 'platform', sub: 'p' });
const gc = (globalThis as any).gc;
gc?.(); gc?.();
const before = process.memoryUsage();
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/tmp-prof-client.ts', url, token, String(SOCKETS), String(EVENTS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise<void>((r) => child.once('message', () => r()));
await new Promise((r) => setTimeout(r, 1000));
gc?.(); gc?.();
const after = process.memoryUsage();
console.log(`per socket: rss ${((after.rss - before.rss) / SOCKETS / 1024).toFixed(1)} KiB heap ${((after.heapUsed - before.heapUsed) / SOCKETS / 1024).toFixed(1)} KiB ext ${((after.external - before.external) / SOCKETS / 1024).toFixed(1)} KiB`);
if (process.env.HEAP) {
  const s = new inspector.Session(); s.connect();
  const out = fs.createWriteStream('/tmp/fanout-prof/heap.heapsnapshot');
  s.on('HeapProfiler.addHeapSnapshotChunk', (m) => out.write(m.params.chunk));
  await s.post('HeapProfiler.takeHeapSnapshot', {});
  out.end();
}
const session = new inspector.Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.start');
const cpu0 = process.cpuUsage();
for (let round = 0; round < EVENTS; round++) {
  const done = new Promise<void>((r) => child.once('message', () => r()));
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${platform}` }, body: JSON.stringify({ query: REQUEST_EVIDENCE, variables: { input: { afterSaleId: gid('AfterSale', afterSaleIds.get('shop-0000')![round]!), instructions: 'x please' } } }) });
  await res.json();
  await done;
}
const cpu = process.cpuUsage(cpu0);
const { profile } = await session.post('Profiler.stop');
fs.writeFileSync('/tmp/fanout-prof/burst.cpuprofile', JSON.stringify(profile));
console.log(`cpu per event ${((cpu.user + cpu.system) / 1000 / EVENTS).toFixed(1)} ms`);
child.kill();
await app.stop();
process.exit(0);
