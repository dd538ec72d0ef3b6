import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { ACCOUNT_VARIABLES, type AccountsConfig, finishAccountsConfig } from '../accounts/account-config.js';
import { DOCUMENT_VARIABLES, type DocumentsConfig } from '../documents/documents-config.js';
import { finishStorageConfig, STORAGE_VARIABLES, type StorageConfig } from '../storage/storage-config.js';
import { finishOidcConfig, OIDC_VARIABLES, type OidcConfig } from '../oidc/oidc-config.js';
import { developmentSecret } from './development-secret.js';
import {
  type Env,
  flag,
  integer,
  list,
  oneOf,
  optionalText,
  parseBoolean,
  type Parser,
  readTable,
  readVariable,
  text,
  url,
  type Variable,
  variable,
  type VariableTable,
} from './variables.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';
export type DatabaseSsl = false | 'verify' | 'no-verify';

export const TRACES_SAMPLERS = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

export interface TracingConfig {
  /** OTEL_EXPORTER_OTLP_ENDPOINT (the exporter itself also reads the other standard OTEL_EXPORTER_OTLP_* variables). */
  endpoint: string;
  serviceName: string;
  sampler: TracesSampler;
  /** The ratio of the traceidratio samplers, 0 to 1. */
  samplerRatio: number;
}

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
  /** OTEL_EXPORTER_OTLP_ENDPOINT: traces exported over OTLP/HTTP when set (src/tracing). */
  readonly otelEndpoint: string | undefined;
  readonly otelServiceName: string;
  readonly otelTracesSampler: TracesSampler;
  /** The ratio of the traceidratio samplers, 0 to 1. */
  readonly otelTracesSamplerArg: number;
  /** A comment line on every open event stream this often, so proxies keep it open. */
  readonly eventsHeartbeatMs: number;
  /** How far back a reconnecting event stream (Last-Event-ID) is replayed; older: a reload event. */
  readonly eventsReplaySeconds: number;
  /** Event streams one user may have open, on all instances sharing Redis (429 beyond). */
  readonly eventsMaxStreamsPerUser: number;
  /** Wrong share-link passwords per IP (on any link) in a window before that IP gets 429. */
  readonly linkPasswordAttemptsMax: number;
  /** Wrong passwords per share link (from any IP) in a window before it checks only IPs with no wrong guess on it. */
  readonly linkPasswordLinkAttemptsMax: number;
  readonly linkPasswordWindowMs: number;
  /** Account lifecycle and mail: see src/accounts/account-config.ts. */
  readonly accounts: AccountsConfig;
  /** Storage drivers, transfers and versions: see src/storage/storage-config.ts. */
  readonly storage: StorageConfig;
  /** OpenID Connect sign-in: see src/oidc/oidc-config.ts. */
  readonly oidc: OidcConfig;
  /** Trash and PDF text: see src/documents/documents-config.ts. */
  readonly documents: DocumentsConfig;

  get production(): boolean {
    return this.nodeEnv === 'production';
  }

  /** OpenTelemetry's settings when an endpoint is set; undefined loads nothing of it. */
  get tracing(): TracingConfig | undefined {
    if (this.otelEndpoint === undefined) return undefined;
    return {
      endpoint: this.otelEndpoint,
      serviceName: this.otelServiceName,
      sampler: this.otelTracesSampler,
      samplerRatio: this.otelTracesSamplerArg,
    };
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

const NODE_ENVS: readonly NodeEnv[] = ['development', 'production', 'test'];
const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug'];
const MIN_PRODUCTION_SECRET = 32;

/** `true` verifies the server's certificate; `no-verify` encrypts without checking it. */
const databaseSsl: Parser<DatabaseSsl> = (raw, name, problems) => {
  if (raw === undefined) return false;
  const ssl = parseBoolean(raw);
  if (ssl !== undefined) return ssl ? 'verify' : false;
  if (raw === 'no-verify') return 'no-verify';
  problems.push(`${name} must be true, false or no-verify (got "${raw}")`);
  return false;
};

/** A boolean, a hop count (1 = Render's one proxy; 0 means off), or proxy addresses/CIDR ranges. */
const trustProxy: Parser<boolean | number | string[]> = (raw, name, problems) => {
  if (raw === undefined) return false;
  const asBool = parseBoolean(raw);
  if (/^\d{1,2}$/.test(raw)) return Number(raw) === 0 ? false : Number(raw);
  if (asBool !== undefined) return asBool;
  if (raw.split(',').every((part) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(part.trim()))) {
    return raw.split(',').map((part) => part.trim());
  }
  problems.push(`${name} must be true, false, a number of proxy hops, or proxy addresses/CIDR ranges (got "${raw}")`);
  return false;
};

/** A number from 0 to 1 (OTEL_TRACES_SAMPLER_ARG): `fallback` when unset. */
const ratio =
  (fallback: number): Parser<number> =>
  (raw, name, problems) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d*\.?\d+$/.test(raw) || !(value >= 0 && value <= 1)) {
      problems.push(`${name} must be a number from 0 to 1 (got "${raw}")`);
      return fallback;
    }
    return value;
  };

/** What the table reads; JWT_SECRET is completed by loadConfig (generated when unset). */
type CoreSettings = Omit<
  AppConfig,
  | 'production'
  | 'embeddedDatabase'
  | 'tracing'
  | 'jwtSecret'
  | 'jwtSecretGenerated'
  | 'jwtSecretFile'
  | 'accounts'
  | 'storage'
  | 'oidc'
  | 'documents'
> & { jwtSecret: string | undefined };

/** The service's own variables, in README's order (the accounts and documents modules have their own tables). */
export const CORE_VARIABLES: VariableTable<CoreSettings> = {
  port: variable('PORT', integer(3000, 1, 65535), {
    default: '`3000`',
    meaning: 'HTTP port, `1`–`65535` (Render sets it, to 10000)',
  }),
  host: variable('HOST', text('0.0.0.0'), {
    default: '`0.0.0.0`',
    meaning: 'interface to listen on',
  }),
  nodeEnv: variable('NODE_ENV', oneOf(NODE_ENVS, 'development'), {
    default: '`development`',
    meaning:
      '`development`, `production` or `test`. Production logs JSON lines and refuses to start without `DATABASE_URL` or with a `JWT_SECRET` under 32 characters',
  }),
  databaseUrl: variable('DATABASE_URL', url(['postgres:', 'postgresql:']), {
    default: 'unset: embedded PGlite',
    meaning: '`postgres://user:password@host:5432/db` (or `postgresql://`)',
  }),
  databaseSsl: variable('DATABASE_SSL', databaseSsl, {
    default: '`false`',
    meaning: '`true` (verify the certificate), `no-verify`, or `false`',
  }),
  databasePoolMax: variable('DATABASE_POOL_MAX', integer(10, 1, 100), {
    default: '`10`',
    meaning: 'connections per instance, `1`–`100` (the embedded database always uses 1)',
  }),
  redisUrl: variable('REDIS_URL', url(['redis:', 'rediss:']), {
    default: 'unset: in-process cache',
    meaning: '`redis://` or `rediss://` URL of the shared cache',
  }),
  jwtSecret: variable('JWT_SECRET', optionalText(), {
    default: 'kept in `DATA_DIR` in development',
    meaning:
      'secret for signing access tokens; required in production, at least 32 characters. Unset in development: made once, kept in `DATA_DIR/jwt-secret`',
  }),
  logLevel: variable('LOG_LEVEL', oneOf(LOG_LEVELS, 'info'), {
    default: '`info`',
    meaning: '`silent`, `error`, `warn`, `info` or `debug`',
  }),
  corsOrigins: variable(
    'CORS_ORIGINS',
    list((origin) => origin === '*' || isOrigin(origin), 'entries must be origins like https://app.example.com or *'),
    {
      default: 'empty (CORS off)',
      meaning: 'comma-separated origins, e.g. `https://app.example.com`, or `*`',
    },
  ),
  trustProxy: variable('TRUST_PROXY', trustProxy, {
    default: '`false`',
    meaning:
      '`true`, `false`, the number of proxy hops in front (Render: `1`), or comma-separated proxy addresses/CIDR ranges; needed for the real client IP and protocol. A hop count is only safe when the service is reachable solely through that proxy (see Security limits)',
  }),
  dataDir: variable('DATA_DIR', (raw) => resolve(raw ?? './.data'), {
    default: '`./.data`',
    meaning: 'where the embedded database (and the development `JWT_SECRET`) lives',
  }),
  adminEmails: variable(
    'ADMIN_EMAILS',
    list(
      (email) => /^[^\s@,]+@[^\s@,]+$/.test(email),
      'must be comma-separated email addresses',
      (email) => email.toLowerCase(),
    ),
    {
      default: 'empty',
      meaning:
        'comma-separated emails of administrators: such an account is made `admin` when it registers, and at every start (logged)',
    },
  ),
  healthTimeoutMs: variable('HEALTH_TIMEOUT_MS', integer(1000, 50, 60_000), {
    default: '`1000`',
    meaning: 'bound on the database ping of `/health/ready` and `/health/database`, `50`–`60000`',
  }),
  shutdownTimeoutMs: variable('SHUTDOWN_TIMEOUT_MS', integer(8000, 100, 60_000), {
    default: '`8000`',
    meaning: 'bound on the graceful shutdown, `100`–`60000`; past it the process exits 1',
  }),
  accessTokenTtlSeconds: variable('ACCESS_TOKEN_TTL_SECONDS', integer(900, 30, 86_400), {
    default: '`900` (15 min)',
    meaning: 'lifetime of an access token, `30`–`86400`',
  }),
  refreshTokenTtlSeconds: variable('REFRESH_TOKEN_TTL_SECONDS', integer(30 * 86_400, 300, 365 * 86_400), {
    default: '`2592000` (30 days)',
    meaning: "lifetime of a session's refresh token, renewed on each refresh, `300`–`31536000`",
  }),
  refreshReuseGraceSeconds: variable('REFRESH_REUSE_GRACE_SECONDS', integer(10, 0, 300), {
    default: '`10`',
    meaning:
      'the grace window, `0`–`300`: how long a refresh token just exchanged may be exchanged again (see Accounts)',
  }),
  uploadMaxBytes: variable('UPLOAD_MAX_BYTES', integer(10 * 1024 * 1024, 1, 5 * 1024 * 1024 * 1024), {
    default: '`10485760` (10 MiB)',
    meaning:
      'largest file one upload may carry, `1`–`1073741824` (1 GiB) with the postgres driver, up to `5368709120` (5 GiB) with s3',
  }),
  userQuotaBytes: variable('USER_QUOTA_BYTES', integer(100 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER), {
    default: '`104857600` (100 MiB)',
    meaning: 'total size of the documents one user may keep, `1`–`9007199254740991`',
  }),
  cacheTtlMs: variable('CACHE_TTL_MS', integer(30_000, 0, 86_400_000), {
    default: '`30000`',
    meaning: 'how long a cached response lives, `0`–`86400000`; `0` turns the response cache off',
  }),
  redisKeyPrefix: variable('REDIS_KEY_PREFIX', text('ultrai:'), {
    default: '`ultrai:`',
    meaning: 'prefix of every Redis key (instances of one deployment share it)',
  }),
  redisCommandTimeoutMs: variable('REDIS_COMMAND_TIMEOUT_MS', integer(250, 10, 60_000), {
    default: '`250`',
    meaning: 'bound on one Redis command, `10`–`60000`; past it the cache is bypassed and limits count in memory',
  }),
  rateLimitMax: variable('RATE_LIMIT_MAX', integer(300, 1, 10_000_000), {
    default: '`300`',
    meaning: 'requests per client (user, else IP) per window, across all routes, `1`–`10000000`',
  }),
  rateLimitWindowMs: variable('RATE_LIMIT_WINDOW_MS', integer(60_000, 1000, 86_400_000), {
    default: '`60000`',
    meaning: 'that window, `1000`–`86400000`',
  }),
  authRateLimitMax: variable('AUTH_RATE_LIMIT_MAX', integer(10, 1, 10_000_000), {
    default: '`10`',
    meaning:
      'requests per IP per window to each of `/auth/login`, `/auth/register`, `/auth/refresh` and `/auth/oidc/*`, `1`–`10000000`',
  }),
  authRateLimitWindowMs: variable('AUTH_RATE_LIMIT_WINDOW_MS', integer(60_000, 1000, 86_400_000), {
    default: '`60000`',
    meaning: 'that window, `1000`–`86400000`',
  }),
  metricsToken: variable('METRICS_TOKEN', optionalText(), {
    default: 'unset',
    meaning:
      '`GET /metrics` then needs `Authorization: Bearer <token>`; unset in production, `/metrics` answers 404 (the Blueprint generates one)',
  }),
  accountLoginFailuresMax: variable('ACCOUNT_LOGIN_FAILURES_MAX', integer(10, 1, 10_000_000), {
    default: '`10`',
    meaning: 'failed logins of one email (from any IP) per window before its logins are slowed down; 1 to 10,000,000',
  }),
  accountLoginWindowMs: variable('ACCOUNT_LOGIN_WINDOW_MS', integer(15 * 60_000, 1000, 86_400_000), {
    default: '`900000`',
    meaning: 'that window (15 minutes); 1,000 to 86,400,000',
  }),
  accountLoginDelayMaxSeconds: variable('ACCOUNT_LOGIN_DELAY_MAX_SECONDS', integer(60, 1, 3600), {
    default: '`60`',
    meaning: "the longest wait a slowed-down account's logins get; 1 to 3,600",
  }),
  bodyIdleTimeoutMs: variable('BODY_IDLE_TIMEOUT_MS', integer(30_000, 100, 600_000), {
    default: '`30000`',
    meaning:
      '100 to 600000: how long a request body may send nothing before the connection is closed with 408 (a long upload that keeps sending is never cut off)',
  }),
  docsEnabled: variable('DOCS_ENABLED', flag(true), {
    default: '`true`',
    meaning: '`false` turns off Swagger UI (`/docs`) and the OpenAPI document (`/docs/openapi.json`): 404',
  }),
  downloadConcurrencyPerUser: variable('DOWNLOAD_CONCURRENCY_PER_USER', integer(4, 1, 1000), {
    default: '`4`',
    meaning: 'downloads of document content one user may have in flight on one instance (1–1000); past it 429',
  }),
  downloadConcurrency: variable('DOWNLOAD_CONCURRENCY', integer(16, 1, 10_000), {
    default: '`16`',
    meaning: 'downloads in flight on one instance, all users (1–10000); past it 503',
  }),
  downloadStallTimeoutMs: variable('DOWNLOAD_STALL_TIMEOUT_MS', integer(30_000, 100, 600_000), {
    default: '`30000`',
    meaning: 'a download whose client takes nothing for this long is cut off (100–600000)',
  }),
  cacheMaxEntriesPerUser: variable('CACHE_MAX_ENTRIES_PER_USER', integer(100, 1, 1_000_000), {
    default: '`100`',
    meaning: 'cached answers one user may have stored at a time (1–1000000)',
  }),
  otelEndpoint: variable('OTEL_EXPORTER_OTLP_ENDPOINT', url(['http:', 'https:']), {
    default: 'unset',
    meaning:
      'OpenTelemetry collector base URL (`http://…` or `https://…`): traces are exported over OTLP/HTTP to `<url>/v1/traces`; unset, nothing of OpenTelemetry is loaded (see Logs and traces). The other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout) apply',
  }),
  otelServiceName: variable('OTEL_SERVICE_NAME', text('ultrai-core'), {
    default: '`ultrai-core`',
    meaning: "The traces' `service.name`",
  }),
  otelTracesSampler: variable('OTEL_TRACES_SAMPLER', oneOf(TRACES_SAMPLERS, 'parentbased_always_on'), {
    default: '`parentbased_always_on`',
    meaning: '`always_on`, `always_off`, `traceidratio`, or `parentbased_` + one of them: which traces are kept',
  }),
  otelTracesSamplerArg: variable('OTEL_TRACES_SAMPLER_ARG', ratio(1), {
    default: '`1`',
    meaning: 'The ratio (0 to 1) of the `traceidratio` samplers',
  }),
  eventsHeartbeatMs: variable('EVENTS_HEARTBEAT_MS', integer(15_000, 50, 300_000), {
    default: '`15000`',
    meaning: 'a comment line on every open `GET /events` stream this often, so proxies keep it open (50–300000)',
  }),
  eventsReplaySeconds: variable('EVENTS_REPLAY_SECONDS', integer(300, 0, 86_400), {
    default: '`300`',
    meaning: 'how far back a stream reconnecting with `Last-Event-ID` is replayed (0–86400); older: a `reload` event',
  }),
  eventsMaxStreamsPerUser: variable('EVENTS_MAX_STREAMS_PER_USER', integer(5, 1, 1000), {
    default: '`5`',
    meaning: 'event streams one user may have open, across the instances sharing Redis (1–1000); past it 429',
  }),
  linkPasswordAttemptsMax: variable('LINK_PASSWORD_ATTEMPTS_MAX', integer(10, 1, 1_000_000), {
    default: '`10`',
    meaning: 'wrong share-link passwords per IP (on any link) per window; past it that IP gets 429 (1–1000000)',
  }),
  linkPasswordLinkAttemptsMax: variable('LINK_PASSWORD_LINK_ATTEMPTS_MAX', integer(100, 1, 1_000_000), {
    default: '`100`',
    meaning:
      'wrong passwords per share link (from any IP) per window; past it only IPs with no wrong guess on it are still checked (1–1000000)',
  }),
  linkPasswordWindowMs: variable('LINK_PASSWORD_WINDOW_MS', integer(15 * 60_000, 1000, 86_400_000), {
    default: '`900000`',
    meaning: 'that window (15 minutes), 1000–86400000',
  }),
};

/** Every variable the service reads, in README's order. */
export const CONFIG_VARIABLES: ReadonlyArray<Variable<unknown>> = [
  ...Object.values<Variable<unknown>>(CORE_VARIABLES),
  ...Object.values<Variable<unknown>>(ACCOUNT_VARIABLES),
  ...Object.values<Variable<unknown>>(STORAGE_VARIABLES),
  ...Object.values<Variable<unknown>>(OIDC_VARIABLES),
  ...Object.values<Variable<unknown>>(DOCUMENT_VARIABLES),
];

export interface LoadConfigOptions {
  /**
   * Outside production, without JWT_SECRET: keep a generated secret in DATA_DIR and
   * reuse it, so tokens survive a restart. Off by default: tests and other callers get
   * a secret for the process and write nothing.
   */
  keepDevelopmentSecret?: boolean;
}

/**
 * Reads and validates every variable (the tables above), collecting all problems
 * before failing, so one start shows everything that has to be fixed; then the
 * rules that involve several. Values of secrets are never repeated in a message.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): AppConfig {
  const problems: string[] = [];
  const core = readTable(CORE_VARIABLES, env, problems);
  const accounts = readTable(ACCOUNT_VARIABLES, env, problems);
  const storage = readTable(STORAGE_VARIABLES, env, problems);
  const oidc = readTable(OIDC_VARIABLES, env, problems);
  const documents = readTable(DOCUMENT_VARIABLES, env, problems);
  const production = core.nodeEnv === 'production';

  if (production && readVariable(env, 'DATABASE_URL') === undefined) {
    problems.push('DATABASE_URL is required when NODE_ENV=production (the embedded database is for development only)');
  }

  let jwtSecret = core.jwtSecret;
  let jwtSecretGenerated = false;
  let jwtSecretFile: string | undefined;
  if (jwtSecret === undefined) {
    if (production) problems.push('JWT_SECRET is required when NODE_ENV=production');
    if (!production && options.keepDevelopmentSecret) {
      ({ secret: jwtSecret, file: jwtSecretFile } = developmentSecret(core.dataDir));
    } else {
      jwtSecret = randomBytes(32).toString('base64url');
    }
    jwtSecretGenerated = true;
  } else if (production && jwtSecret.length < MIN_PRODUCTION_SECRET) {
    problems.push(
      `JWT_SECRET must be at least ${MIN_PRODUCTION_SECRET} characters when NODE_ENV=production (it has ${jwtSecret.length})`,
    );
  }

  const config = Object.assign(new AppConfig(), {
    ...core,
    jwtSecret,
    jwtSecretGenerated,
    jwtSecretFile,
    accounts: finishAccountsConfig(accounts, { production, port: core.port }, problems),
    storage: finishStorageConfig(storage, core.uploadMaxBytes, problems),
    oidc: finishOidcConfig(oidc, { production }, problems),
    documents,
  } satisfies Omit<AppConfig, 'production' | 'embeddedDatabase' | 'tracing'>);

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === value;
  } catch {
    return false;
  }
}
