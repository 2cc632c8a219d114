import path from 'node:path';

/** Every setting of the service, parsed and checked once at start. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL connection URL; null means the embedded SQLite file in dataDir. */
  databaseUrl: string | null;
  /** Redis for live pushes across instances; null: pushes stay within this process (and the SQLite relay). */
  redisUrl: string | null;
  /** How often, with Redis, every live feed reads again in case a push was lost. */
  resyncIntervalMs: number;
  /** Where accepted evidence files live; several instances may share it. */
  filesDir: string;
  /** Secret for tokens and file links; null means "use the development secret in dataDir". */
  authSecret: string | null;
  production: boolean;
  seed: boolean;
  publicUrl: string | null;
  evidenceWindowMs: number;
  reminderLeadMs: number;
  /** Safety sweep period of the deadline scheduler. */
  sweepIntervalMs: number;
  /** Rounds the scheduler claims per transaction: smaller keeps requests beside a backlog quicker, larger drains it faster. */
  sweepBatch: number;
  /** How often live pushes look for what other processes sharing the database wrote. */
  relayIntervalMs: number;
  fileUrlTtlMs: number;
  /** How long an unfinished resumable upload is kept (at most until its round's dueAt). */
  uploadExpiryMs: number;
  /** How often every socket is pinged; one that has not answered the previous ping by then is cut off. */
  wsPingIntervalMs: number;
  limits: UploadLimits;
  /** How long in-flight requests may run on SIGTERM before the process gives up on them. */
  shutdownGraceMs: number;
  logLevel: string;
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | null;
  /** Asymmetric tokens from an identity provider's key set, beside the HS256 ones. */
  jwks: JwksConfig | null;
  /** Queries that run by their hash from the start (Apollo's persisted query manifest). */
  persistedOperationsFile: string | null;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: where spans go over OTLP/HTTP; null, no tracing. */
  otlpEndpoint: string | null;
}

export interface JwksConfig {
  url: URL;
  issuer: string | null;
  audience: string | null;
  /** The key set is fetched again for an unknown `kid` at most this often. */
  cooldownMs: number;
}

export interface UploadLimits {
  /** Bytes per image or PDF. */
  maxDocumentBytes: number;
  /** Bytes per MP4 or QuickTime video. */
  maxVideoBytes: number;
  maxTotalBytes: number;
  minFiles: number;
  maxFiles: number;
  minExplanation: number;
  maxExplanation: number;
  maxInstructions: number;
  /** A client that sends nothing for this long during an upload is cut off. */
  idleTimeoutMs: number;
}

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `500ms`, `8s`, `90m`, `24h`, `2d` or a plain number of milliseconds. */
export function parseDuration(value: string, name: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!match) throw new ConfigError(`${name}: "${value}" is not a duration (try 500ms, 8s, 90m or 24h)`);
  const ms = Number(match[1]) * UNITS[match[2] ?? 'ms']!;
  if (!Number.isFinite(ms) || ms <= 0) throw new ConfigError(`${name}: must be more than zero`);
  return Math.round(ms);
}

function parseInteger(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name}: "${value}" must be a whole number >= ${min}`);
  return n;
}

const MiB = 1024 * 1024;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min = 0) => {
    const v = get(name);
    return v === undefined ? fallback : parseInteger(v, name, min);
  };
  const duration = (name: string, fallback: string) => parseDuration(get(name) ?? fallback, name);

  const production = env.NODE_ENV === 'production';
  const authSecret = get('AUTH_SECRET') ?? null;
  if (production && !authSecret) {
    throw new ConfigError('AUTH_SECRET is required when NODE_ENV=production (a long random string; it signs tokens and file links)');
  }
  const databaseUrl = get('DATABASE_URL') ?? null;
  if (databaseUrl && !/^postgres(ql)?:\/\/[^/]/.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must be a postgres://user:password@host:port/name URL (or unset, for the SQLite file in DATA_DIR)');
  }
  if (databaseUrl && !authSecret) {
    throw new ConfigError('AUTH_SECRET is required with DATABASE_URL: every instance on one database must sign and check tokens and file links alike');
  }
  const redisUrl = get('REDIS_URL') ?? null;
  if (redisUrl && !/^rediss?:\/\/[^/]/.test(redisUrl)) throw new ConfigError('REDIS_URL must be a redis://host:port URL (or unset)');
  if (authSecret && authSecret.length < 16) throw new ConfigError('AUTH_SECRET must be at least 16 characters');
  const publicUrl = get('PUBLIC_URL')?.replace(/\/+$/, '') ?? null;
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) throw new ConfigError(`PUBLIC_URL: "${publicUrl}" is not an http(s) URL`);
  const seed = get('SEED') ?? (production ? 'none' : 'demo');
  if (seed !== 'none' && seed !== 'demo') throw new ConfigError(`SEED: "${seed}" must be "demo" or "none"`);

  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL: "${logLevel}" must be one of ${LOG_LEVELS.join(', ')}`);
  const metricsToken = get('METRICS_TOKEN') ?? null;
  if (metricsToken && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  const jwksUrl = get('AUTH_JWKS_URL');
  let jwks: JwksConfig | null = null;
  if (jwksUrl) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw new ConfigError(`AUTH_JWKS_URL: "${jwksUrl}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('AUTH_JWKS_URL must be an http(s) URL');
    jwks = { url, issuer: get('AUTH_ISSUER') ?? null, audience: get('AUTH_AUDIENCE') ?? null, cooldownMs: duration('AUTH_JWKS_COOLDOWN', '1m') };
  }

  const otlpEndpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT') ?? null;
  if (otlpEndpoint && !/^https?:\/\/[^/]+/.test(otlpEndpoint)) throw new ConfigError(`OTEL_EXPORTER_OTLP_ENDPOINT: "${otlpEndpoint}" is not an http(s) URL`);

  const dataDir = path.resolve(get('DATA_DIR') ?? './data');
  const config: Config = {
    host: get('HOST') ?? '127.0.0.1',
    port: int('PORT', 4000),
    dataDir,
    databaseUrl,
    redisUrl,
    resyncIntervalMs: duration('RESYNC_INTERVAL', '10s'),
    filesDir: path.resolve(get('FILES_DIR') ?? path.join(dataDir, 'files')),
    authSecret,
    production,
    seed: seed === 'demo',
    publicUrl,
    evidenceWindowMs: duration('EVIDENCE_WINDOW', '24h'),
    reminderLeadMs: duration('REMINDER_LEAD', '12h'),
    sweepIntervalMs: duration('SWEEP_INTERVAL', '5s'),
    sweepBatch: int('SWEEP_BATCH', 500, 1),
    relayIntervalMs: duration('RELAY_INTERVAL', '1s'),
    fileUrlTtlMs: duration('FILE_URL_TTL', '15m'),
    uploadExpiryMs: duration('UPLOAD_EXPIRY', '24h'),
    wsPingIntervalMs: duration('WS_PING_INTERVAL', '30s'),
    shutdownGraceMs: duration('SHUTDOWN_GRACE', '10s'),
    logLevel,
    metricsToken,
    jwks,
    persistedOperationsFile: get('PERSISTED_OPERATIONS_FILE') ? path.resolve(get('PERSISTED_OPERATIONS_FILE')!) : null,
    otlpEndpoint,
    limits: {
      maxDocumentBytes: int('MAX_DOCUMENT_BYTES', 10 * MiB, 1),
      maxVideoBytes: int('MAX_VIDEO_BYTES', 200 * MiB, 1),
      maxTotalBytes: int('MAX_TOTAL_BYTES', 500 * MiB, 1),
      minFiles: int('MIN_FILES', 1, 0),
      maxFiles: int('MAX_FILES', 9, 1),
      minExplanation: int('MIN_EXPLANATION', 2, 1),
      maxExplanation: int('MAX_EXPLANATION', 2000, 1),
      maxInstructions: int('MAX_INSTRUCTIONS', 2000, 1),
      idleTimeoutMs: duration('UPLOAD_IDLE_TIMEOUT', '30s'),
    },
  };
  if (config.port > 65535) throw new ConfigError('PORT must be at most 65535');
  return config;
}
