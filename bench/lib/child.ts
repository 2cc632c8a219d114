import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Extra node flags for every child, e.g. --cpu-prof when the bench runs with --profile. */
export const childNodeArgs: string[] = [];

export interface Child {
  pid: number;
  proc: ChildProcess;
  /** Resolves with the data of the first event of this type the child announces. */
  event<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  request<T = unknown>(type: string, arg?: unknown, timeoutMs?: number): Promise<T>;
  /** Resident set size now and its peak since resetPeak(), in bytes, from /proc. */
  rss(): { now: number; peak: number };
  resetPeak(): void;
  stop(): Promise<void>;
}

function procStatus(pid: number): { now: number; peak: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { now: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Starts `bench/<script>` in its own node process (TypeScript through tsx), with IPC. */
export function spawnChild(script: string, env: Record<string, string>, name = path.basename(script, '.ts')): Child {
  const args = ['--expose-gc', ...childNodeArgs.map((a) => a.replaceAll('%NAME%', name)), '--import', 'tsx', path.join(BENCH_DIR, script)];
  const proc = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  const events = new Map<string, Record<string, unknown>>();
  const waiters = new Map<string, ((data: Record<string, unknown>) => void)[]>();
  let exited: Error | null = null;
  proc.on('message', (msg: any) => {
    if (msg.event) {
      events.set(msg.event, msg);
      for (const w of waiters.get(msg.event) ?? []) w(msg);
      waiters.delete(msg.event);
    } else {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.ok) p?.resolve(msg.result);
      else p?.reject(new Error(`${name}: ${msg.error}`));
    }
  });
  const exitPromise = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      exited = new Error(`${name} exited (${code ?? signal})`);
      for (const p of pending.values()) p.reject(exited);
      pending.clear();
      resolve();
    }),
  );
  const timeout = <T>(promise: Promise<T>, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no ${what} within ${ms} ms`)), ms);
      promise.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => (clearTimeout(timer), reject(e)),
      );
    });
  return {
    pid: proc.pid!,
    proc,
    event(type, timeoutMs = 120_000) {
      const seen = events.get(type);
      if (seen) return Promise.resolve(seen as never);
      if (exited) return Promise.reject(exited);
      const p = new Promise<any>((resolve, reject) => {
        waiters.set(type, [...(waiters.get(type) ?? []), resolve]);
        void exitPromise.then(() => reject(exited));
      });
      return timeout(p, timeoutMs, `'${type}' event`);
    },
    request(type, arg, timeoutMs = 120_000) {
      if (exited) return Promise.reject(exited);
      const id = nextId++;
      const p = new Promise<any>((resolve, reject) => pending.set(id, { resolve, reject }));
      proc.send({ id, type, arg });
      return timeout(p, timeoutMs, `answer to '${type}'`);
    },
    rss: () => procStatus(proc.pid!),
    resetPeak: () => fs.writeFileSync(`/proc/${proc.pid}/clear_refs`, '5'),
    async stop() {
      if (exited) return;
      try {
        await timeout(
          (async () => {
            proc.send({ id: nextId++, type: 'stop' });
            await exitPromise;
          })(),
          15_000,
          'exit',
        );
      } catch {
        proc.kill('SIGKILL');
        await exitPromise;
      }
    },
  };
}

/** Samples a child's RSS every `everyMs` until stopped; returns the highest value seen (bytes). */
export function sampleRss(child: Child, everyMs = 10): () => number {
  let max = 0;
  const tick = () => {
    try {
      max = Math.max(max, child.rss().now);
    } catch {
      // the child is gone; keep what we have
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return () => {
    clearInterval(timer);
    tick();
    return max;
  };
}
