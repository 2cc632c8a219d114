import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Auth } from '../src/auth.ts';
import { gql, type ApiClient } from './helpers.ts';
import { databaseEnv } from './stored.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PROCESS_SECRET = 'process-test-secret-0123456789';
const auth = new Auth(PROCESS_SECRET);

export interface ServerProcess extends ApiClient {
  child: ChildProcess;
  dataDir: string;
  /** Everything the process printed so far. */
  output(): string;
  /** What it printed on stdout alone (the log stream). */
  stdout(): string;
  /** Resolves with the exit code and signal once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9, then waits for the process to be gone. */
  crash(): Promise<void>;
}

/**
 * The real server (`node --import tsx src/server.ts`) as a child process on
 * DATA_DIR, on a port of its own choosing, read back from its start-up line.
 */
export async function spawnServer(dataDir: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const database = await databaseEnv(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', SEED: 'none', AUTH_SECRET: PROCESS_SECRET, ...database, ...env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line within 45 s:\n${output}`)), 45_000);
    const look = () => {
      const match = /Evidence service on (http:\/\/\S+)\/graphql/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    child,
    dataDir,
    url,
    output: () => output,
    stdout: () => stdout,
    exited,
    gql: (token, query, variables) => gql(url, token, query, variables),
    merchantToken: (merchantId, sub = `${merchantId}-staff`) => auth.sign({ role: 'merchant', sub, merchantId }),
    platformToken: (agentId = 'agent-1') => auth.sign({ role: 'platform', sub: agentId }),
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Stops a process that may still run: SIGTERM, then waits. For afterAll. */
export async function stopProcess(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  await server.exited;
}

/**
 * Resolves with the error of a fresh TCP connection to `url` (ECONNREFUSED once the server stopped listening).
 * A fresh socket: fetch's pool would send the request over a keep-alive connection it already holds.
 */
export function freshConnectionError(url: string): Promise<NodeJS.ErrnoException | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('error', resolve);
  });
}
