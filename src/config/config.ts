import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { type AccountsConfig, readAccountsConfig } from '../accounts/account-config.js';
import { type DocumentsConfig, readDocumentsConfig } from '../documents/documents-config.js';
import { developmentSecret } from './development-secret.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
export type DatabaseSsl = false | 'verify' | 'no-verify';

/** The whole configuration, read once from the environment at start-up. */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  readonly nodeEnv: NodeEnv;
  /** Unset means the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly databaseSsl: DatabaseSsl;
  readonly databasePoolMax: number;
  readonly redisUrl: string | undefined;
  readonly jwtSecret: string;
  /** True when no JWT_SECRET was given: a random one, made for this process or kept in `jwtSecretFile`. */
  readonly jwtSecretGenerated: boolean;
  /** Where the development secret is kept, when no JWT_SECRET was given (see loadConfig's options). */
  readonly jwtSecretFile: string | undefined;
  /** Accounts with these emails (trimmed, lower-cased) are administrators: on registration and at start. */
  readonly adminEmails: string[];
  readonly logLevel: LogLevel;
  /** Empty: CORS off. `['*']`: any origin. */
  readonly corsOrigins: string[];
  /** false, true (trust every hop), a hop count, or the proxies' addresses/CIDR ranges. */
  readonly trustProxy: boolean | number | string[];
  readonly dataDir: string;
  /** Lifetime of an access token (JWT), in seconds. */
  readonly accessTokenTtlSeconds: number;
  /** Lifetime of a session's refresh token, renewed on each rotation, in seconds. */
  readonly refreshTokenTtlSeconds: number;
  /** How long the refresh token just rotated away still works (two tabs refreshing at once). */
  readonly refreshReuseGraceSeconds: number;
  /** Largest file one upload may carry. */
  readonly uploadMaxBytes: number;
  /** Total size of the documents one user may keep. */
  readonly userQuotaBytes: number;
  /** How long a cached response lives; 0 turns the response cache off. */
  readonly cacheTtlMs: number;
  /** Prefix of every Redis key this service writes (instances of one deployment share it). */
  readonly redisKeyPrefix: string;
  /** Bound on one Redis command; past it the cache is bypassed and limits fall back to memory. */
  readonly redisCommandTimeoutMs: number;
  /** Requests per client (user, else IP) per window, across all routes. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** Requests per IP per window to each of /auth/login, /auth/register, /auth/refresh. */
  readonly authRateLimitMax: number;
  readonly authRateLimitWindowMs: number;
  /** Failed logins of one account (any IP) in a window before its logins are slowed down. */
  readonly accountLoginFailuresMax: number;
  readonly accountLoginWindowMs: number;
  /** The longest wait imposed on an account's logins (the wait doubles per further failure, from 1 s). */
  readonly accountLoginDelayMaxSeconds: number;
  /** When set, GET /metrics requires `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
  /** Swagger UI at /docs and the OpenAPI document; false answers 404 there. */
  readonly docsEnabled: boolean;
  /** Downloads of document content one user may have in flight on one instance. */
  readonly downloadConcurrencyPerUser: number;
  /** Downloads in flight on one instance, all users together. */
  readonly downloadConcurrency: number;
  /** A download whose client takes nothing for this long is cut off (its memory and slot freed). */
  readonly downloadStallTimeoutMs: number;
  /** Cached answers one user may have stored at a time. */
  readonly cacheMaxEntriesPerUser: number;
  /** Bound on a database round trip made by a health check. */
  readonly healthTimeoutMs: number;
  /** Bound on the graceful shutdown before the process gives up and exits 1. */
  readonly shutdownTimeoutMs: number;
  /** How long a request body may send nothing before its connection is closed with 408. */
  readonly bodyIdleTimeoutMs: number;
  /** Account lifecycle and mail: see src/accounts/account-config.ts. */
  readonly accounts: AccountsConfig;
  /** Trash and PDF text: see src/documents/documents-config.ts. */
  readonly documents: DocumentsConfig;

  get production(): boolean {
    return this.nodeEnv === 'production';
  }

  get embeddedDatabase(): boolean {
    return this.databaseUrl === undefined;
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
const MIN_PRODUCTION_SECRET = 32;

export interface LoadConfigOptions {
  /**
   * Outside production, without JWT_SECRET: keep a generated secret in DATA_DIR and
   * reuse it, so tokens survive a restart. Off by default: tests and other callers get
   * a secret for the process and write nothing.
   */
  keepDevelopmentSecret?: boolean;
}

/**
 * Reads and validates every variable, collecting all problems before failing,
 * so one start shows everything that has to be fixed. Values of secrets are
 * never repeated in a message.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): AppConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };

  const flag = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = parseBoolean(raw);
    if (value === undefined) problems.push(`${name} must be true or false (got "${raw}")`);
    return value ?? fallback;
  };

  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };

  const url = (name: string, protocols: string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(raw);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !protocols.includes(parsed.protocol)) {
      // The URL may hold a password: name the rule, not the value.
      problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
    return raw;
  };

  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = parseBoolean(raw);
    if (value === undefined) problems.push(`${name} must be true or false (got "${raw}")`);
    return value ?? fallback;
  };

  const nodeEnv = oneOf('NODE_ENV', NODE_ENVS, 'development');
  const production = nodeEnv === 'production';

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  if (production && read('DATABASE_URL') === undefined) {
    problems.push('DATABASE_URL is required when NODE_ENV=production (the embedded database is for development only)');
  }

  let databaseSsl: DatabaseSsl = false;
  const sslRaw = read('DATABASE_SSL');
  if (sslRaw !== undefined) {
    const ssl = parseBoolean(sslRaw);
    if (ssl !== undefined) databaseSsl = ssl ? 'verify' : false;
    else if (sslRaw === 'no-verify') databaseSsl = 'no-verify';
    else problems.push(`DATABASE_SSL must be true, false or no-verify (got "${sslRaw}")`);
  }

  const dataDir = resolve(read('DATA_DIR') ?? './.data');
  let jwtSecret = read('JWT_SECRET');
  let jwtSecretGenerated = false;
  let jwtSecretFile: string | undefined;
  if (jwtSecret === undefined) {
    if (production) problems.push('JWT_SECRET is required when NODE_ENV=production');
    if (!production && options.keepDevelopmentSecret) {
      ({ secret: jwtSecret, file: jwtSecretFile } = developmentSecret(dataDir));
    } else {
      jwtSecret = randomBytes(32).toString('base64url');
    }
    jwtSecretGenerated = true;
  } else if (production && jwtSecret.length < MIN_PRODUCTION_SECRET) {
    problems.push(
      `JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET} characters when NODE_ENV=production (it has ${jwtSecret.length})`,
    );
  }

  const corsOrigins: string[] = [];
  for (const origin of (read('CORS_ORIGINS') ?? '').split(',').map((o) => o.trim())) {
    if (origin === '') continue;
    if (origin === '*' || isOrigin(origin)) corsOrigins.push(origin);
    else problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com or * (got "${origin}")`);
  }

  const adminEmails: string[] = [];
  for (const email of (read('ADMIN_EMAILS') ?? '').split(',').map((e) => e.trim().toLowerCase())) {
    if (email === '') continue;
    if (/^[^\s@,]+@[^\s@,]+$/.test(email)) adminEmails.push(email);
    else problems.push(`ADMIN_EMAILS must be comma-separated email addresses (got "${email}")`);
  }

  let trustProxy: boolean | number | string[] = false;
  const proxyRaw = read('TRUST_PROXY');
  if (proxyRaw !== undefined) {
    const asBool = parseBoolean(proxyRaw);
    // Digits are a hop count (1 = Render's one proxy); 0 means off.
    if (/^\d{1,2}$/.test(proxyRaw)) trustProxy = Number(proxyRaw) === 0 ? false : Number(proxyRaw);
    else if (asBool !== undefined) trustProxy = asBool;
    else if (proxyRaw.split(',').every((part) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(part.trim()))) {
      trustProxy = proxyRaw.split(',').map((part) => part.trim());
    } else {
      problems.push(
        `TRUST_PROXY must be true, false, a number of proxy hops, or proxy addresses/CIDR ranges (got "${proxyRaw}")`,
      );
    }
  }

  const port = integer('PORT', 3000, 1, 65535);
  const config = Object.assign(new AppConfig(), {
    port,
    host: read('HOST') ?? '0.0.0.0',
    nodeEnv,
    databaseUrl,
    databaseSsl,
    databasePoolMax: integer('DATABASE_POOL_MAX', 10, 1, 100),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    jwtSecret,
    jwtSecretGenerated,
    jwtSecretFile,
    adminEmails,
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    corsOrigins,
    trustProxy,
    dataDir,
    accessTokenTtlSeconds: integer('ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86_400),
    refreshTokenTtlSeconds: integer('REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 300, 365 * 86_400),
    refreshReuseGraceSeconds: integer('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
    uploadMaxBytes: integer('UPLOAD_MAX_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    userQuotaBytes: integer('USER_QUOTA_BYTES', 100 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    cacheTtlMs: integer('CACHE_TTL_MS', 30_000, 0, 86_400_000),
    redisKeyPrefix: read('REDIS_KEY_PREFIX') ?? 'ultrai:',
    redisCommandTimeoutMs: integer('REDIS_COMMAND_TIMEOUT_MS', 250, 10, 60_000),
    rateLimitMax: integer('RATE_LIMIT_MAX', 300, 1, 10_000_000),
    rateLimitWindowMs: integer('RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    authRateLimitMax: integer('AUTH_RATE_LIMIT_MAX', 10, 1, 10_000_000),
    authRateLimitWindowMs: integer('AUTH_RATE_LIMIT_WINDOW_MS', 60_000, 1000, 86_400_000),
    accountLoginFailuresMax: integer('ACCOUNT_LOGIN_FAILURES_MAX', 10, 1, 10_000_000),
    accountLoginWindowMs: integer('ACCOUNT_LOGIN_WINDOW_MS', 15 * 60_000, 1000, 86_400_000),
    accountLoginDelayMaxSeconds: integer('ACCOUNT_LOGIN_DELAY_MAX_SECONDS', 60, 1, 3600),
    metricsToken: read('METRICS_TOKEN'),
    docsEnabled: flag('DOCS_ENABLED', true),
    downloadConcurrencyPerUser: integer('DOWNLOAD_CONCURRENCY_PER_USER', 4, 1, 1000),
    downloadConcurrency: integer('DOWNLOAD_CONCURRENCY', 16, 1, 10_000),
    downloadStallTimeoutMs: integer('DOWNLOAD_STALL_TIMEOUT_MS', 30_000, 100, 600_000),
    cacheMaxEntriesPerUser: integer('CACHE_MAX_ENTRIES_PER_USER', 100, 1, 1_000_000),
    healthTimeoutMs: integer('HEALTH_TIMEOUT_MS', 1000, 50, 60_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 8000, 100, 60_000),
    bodyIdleTimeoutMs: integer('BODY_IDLE_TIMEOUT_MS', 30_000, 100, 600_000),
    accounts: readAccountsConfig({ read, integer, url, boolean, problems, production, port }),
    documents: readDocumentsConfig({ integer }),
  } satisfies Omit<AppConfig, 'production' | 'embeddedDatabase'>);

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function parseBoolean(raw: string): boolean | undefined {
  const value = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return undefined;
}

function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === value;
  } catch {
    return false;
  }
}
