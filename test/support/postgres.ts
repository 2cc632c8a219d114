import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql package puts its programs: one folder per major version. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** A throwaway cluster this process started, to be stopped with stopServer. */
export interface StartedServer {
  adminUrl: string;
  pid: number;
  dir: string;
  bin: string;
}

export type FoundServer =
  | { kind: 'external'; adminUrl: string }
  | { kind: 'started'; adminUrl: string; server: StartedServer }
  | { kind: 'none'; reason: string };

/** The bin folder of the newest Debian PostgreSQL that has both initdb and pg_ctl, if any. */
export function findDebianBin(root = DEBIAN_PG_ROOT): string | undefined {
  let versions: string[];
  try {
    versions = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  return versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .find((bin) => ['initdb', 'pg_ctl'].every((p) => fs.existsSync(path.join(bin, p))));
}

/** Why the PostgreSQL half cannot run here, or undefined when it can (cheap: no process is started). */
export function whyNoServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEST_DATABASE_URL || findDebianBin()) return undefined;
  return `no TEST_DATABASE_URL and no initdb found under ${DEBIAN_PG_ROOT}/<version>/bin`;
}

/**
 * TEST_DATABASE_URL if set (an admin URL that may create roles and databases),
 * else a throwaway cluster of Debian's newest PostgreSQL, else the reason there is none.
 */
export async function findOrStartServer(env: NodeJS.ProcessEnv = process.env, settings: string[] = []): Promise<FoundServer> {
  if (env.TEST_DATABASE_URL) return { kind: 'external', adminUrl: env.TEST_DATABASE_URL };
  const bin = findDebianBin();
  if (!bin) return { kind: 'none', reason: whyNoServer(env)! };
  const server = await startServer(bin, settings);
  return { kind: 'started', adminUrl: server.adminUrl, server };
}

/** PostgreSQL refuses to run as root: as root, its programs run as the `postgres` user. */
function asOwner(): { user?: string; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { user: 'postgres', uid: Number(uid), gid: Number(gid) };
}

async function runPg(bin: string, program: string, args: string[], user: string | undefined): Promise<void> {
  const file = path.join(bin, program);
  const [cmd, cmdArgs] = user ? ['runuser', ['-u', user, '--', file, ...args]] : [file, args];
  // cwd: the postgres user may not be allowed into the caller's folder.
  await run(cmd, cmdArgs, { cwd: os.tmpdir() });
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * initdb a cluster in a fresh temp folder and start it with `pg_ctl -w start`,
 * listening on 127.0.0.1 only (socket in the same folder), with password
 * (SCRAM) logins over TCP for every role, the admin `postgres` included.
 * `settings`: postgresql.conf lines after the harness's own (the bench sizes the buffers).
 */
export async function startServer(bin: string, settings: string[] = []): Promise<StartedServer> {
  const owner = asOwner();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const pwFile = path.join(dir, 'admin-password');
  const password = randomBytes(16).toString('hex');
  fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) {
    fs.chownSync(dir, owner.uid, owner.gid!);
    fs.chownSync(pwFile, owner.uid, owner.gid!);
  }
  try {
    await runPg(bin, 'initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale'], owner.user);
    fs.rmSync(pwFile);
    let lastError: unknown;
    // The port may be taken between freePort() and the server binding it: try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const conf = [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        'max_connections = 200',
        // Small: a test file's database holds a few hundred rows, and many run at once on one cluster.
        'shared_buffers = 32MB',
        ...settings,
      ];
      fs.writeFileSync(path.join(data, 'postgresql.auto.conf'), `${conf.join('\n')}\n`);
      try {
        await runPg(bin, 'pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start'], owner.user);
        const pid = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
        return { adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, pid, dir, bin };
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  } catch (err) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start a throwaway PostgreSQL with ${bin}: ${(err as Error).message}${log ? `\n${log}` : ''}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a server that startServer started (fast shutdown: open sessions are cut) and removes its folder. */
export async function stopServer(server: StartedServer): Promise<void> {
  try {
    await runPg(server.bin, 'pg_ctl', ['-D', path.join(server.dir, 'data'), '-m', 'fast', '-w', 'stop'], asOwner().user);
  } catch {
    // pg_ctl could not: the signal for a fast shutdown is SIGINT to the postmaster.
    if (alive(server.pid)) process.kill(server.pid, 'SIGINT');
    for (let i = 0; i < 100 && alive(server.pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  fs.rmSync(server.dir, { recursive: true, force: true });
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * A fresh role and database of the same random name (`<prefix>_<hex>`): the role
 * logs in with a password, owns the database and nothing more (no superuser, no
 * CREATEDB, no CREATEROLE), and no other role but the admin may connect to it.
 * Returns the role's URL on the admin URL's host and port.
 */
export async function createTestDatabase(adminUrl: string, prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  const role = quoteIdent(name);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    const { rows } = await client.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
    // A non-superuser admin (CREATEROLE, CREATEDB) may only give a database to a role it is a member of.
    if (!rows[0]?.rolsuper) await client.query(`GRANT ${role} TO CURRENT_USER`);
    await client.query(`CREATE DATABASE ${role} OWNER ${role}`);
    await client.query(`REVOKE ALL ON DATABASE ${role} FROM PUBLIC`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.username = name;
  url.password = password;
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the databases and roles whose names start with `<prefix>_` (a run's own, on a server it shares). */
export async function dropTestDatabases(adminUrl: string, prefix: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const like = `${prefix.replaceAll('_', '\\_')}\\_%`;
    const dbs = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [like]);
    for (const { datname } of dbs.rows) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    const roles = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname LIKE $1', [like]);
    for (const { rolname } of roles.rows) await client.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`);
  } finally {
    await client.end();
  }
}
