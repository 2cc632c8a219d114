import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../src/config.ts';
import { gql, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe('settings', () => {
  it('reads durations as ms numbers or with a unit', () => {
    expect(parseDuration('500ms', 'X')).toBe(500);
    expect(parseDuration('8s', 'X')).toBe(8000);
    expect(parseDuration('90m', 'X')).toBe(5_400_000);
    expect(parseDuration('24h', 'X')).toBe(86_400_000);
    expect(parseDuration('1500', 'X')).toBe(1500);
    expect(() => parseDuration('soon', 'EVIDENCE_WINDOW')).toThrow(/EVIDENCE_WINDOW/);
    expect(() => parseDuration('0s', 'X')).toThrow(ConfigError);
  });

  it('refuses production without AUTH_SECRET, and bad values with the variable named', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_SECRET is required/);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ SEED: 'lots' })).toThrow(/SEED/);
    expect(() => loadConfig({ SWEEP_BATCH: '0' })).toThrow(/SWEEP_BATCH/);
    expect(loadConfig({}).sweepBatch).toBe(500);
    expect(loadConfig({ SWEEP_BATCH: '250' }).sweepBatch).toBe(250);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_SECRET: 'a-long-enough-secret-value' }).seed).toBe(false);
  });
});

describe('npm start and the token script', () => {
  it('stops a production start without AUTH_SECRET with a clear message', () => {
    const run = spawnSync(TSX, ['src/server.ts'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', AUTH_SECRET: '', DATA_DIR: tempDir() }, encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(1);
    // One JSON line on stdout, like every other line of the service.
    const line = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 60, msg: expect.stringMatching(/Cannot start: AUTH_SECRET is required/) });
  });

  it('seeds an empty database with demo data, prints working tokens, and answers /healthz', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const child = spawn(TSX, ['src/server.ts'], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), NODE_ENV: 'development', AUTH_SECRET: '', SEED: '' } });
    // The demo tokens go to stderr, so they never enter the log stream on stdout.
    let out = '';
    child.stdout.resume();
    child.stderr.on('data', (d) => (out += d));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
        child.stderr.on('data', () => out.includes('platform agent-demo:') && (clearTimeout(timer), resolve()));
      });
      const url = `http://127.0.0.1:${port}`;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const token = /merchant shop-1001: (\S+)/.exec(out)![1]!;
      const platform = /platform agent-demo: (\S+)/.exec(out)![1]!;
      const mine = await gql(url, token, `{ awaitingEvidence { totalCount } unreadMessageCount }`);
      expect(mine.data.awaitingEvidence.totalCount).toBeGreaterThanOrEqual(3);
      // After-sales in every state, as the platform sees them (the past-due one expired at start).
      const ids = Array.from({ length: 16 }, (_, i) => Buffer.from(`AfterSale:${i + 1}`).toString('base64'));
      const statuses = new Set<string>();
      for (const id of ids) {
        const res = await gql(url, platform, `query($id: ID!) { afterSale(id: $id) { status evidenceRequest { submission { files { url } } } } }`, { id });
        statuses.add(res.data.afterSale.status);
        const files = res.data.afterSale.evidenceRequest?.submission?.files ?? [];
        for (const f of files) expect((await fetch(f.url)).status).toBe(200);
      }
      expect([...statuses].sort()).toEqual(['AWAITING_MERCHANT_EVIDENCE', 'EVIDENCE_SUBMITTED', 'PLATFORM_INTERVENING', 'RESOLVED']);
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
    }
  });

  it('prints exactly one token, signed with the development secret kept in DATA_DIR', async () => {
    const dataDir = tempDir();
    const run = (...args: string[]) => spawnSync('npm', ['run', '--silent', 'token', '--', ...args], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, AUTH_SECRET: '' }, encoding: 'utf8', timeout: 20_000 });
    const merchant = run('merchant', 'shop-9');
    const platform = run('platform', 'agent-9');
    expect(merchant.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const key = new TextEncoder().encode(fs.readFileSync(path.join(dataDir, 'dev-secret'), 'utf8').trim());
    expect((await jwtVerify(merchant.stdout.trim(), key)).payload).toMatchObject({ role: 'merchant', merchantId: 'shop-9' });
    expect((await jwtVerify(platform.stdout.trim(), key)).payload).toMatchObject({ role: 'platform', sub: 'agent-9' });
    expect(run('nobody').status).toBe(2);
  });
});
