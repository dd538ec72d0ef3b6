import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.js';

const PROD = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://u:p@db:5432/app',
  JWT_SECRET: 'x'.repeat(32),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('has working defaults for development with nothing set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      nodeEnv: 'development',
      databaseUrl: undefined,
      databaseSsl: false,
      databasePoolMax: 10,
      redisUrl: undefined,
      logLevel: 'info',
      corsOrigins: [],
      trustProxy: false,
      jwtSecretGenerated: true,
    });
    expect(config.embeddedDatabase).toBe(true);
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('reads every variable', () => {
    // Every variable at a value other than its default (the README table's list, checked below).
    const all: Record<string, string> = {
      PORT: '10000',
      HOST: '127.0.0.1',
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      DATABASE_SSL: 'no-verify',
      DATABASE_POOL_MAX: '5',
      REDIS_URL: 'redis://cache:6379',
      JWT_SECRET: 'y'.repeat(40),
      LOG_LEVEL: 'warn',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
      TRUST_PROXY: '1',
      DATA_DIR: '/tmp/somewhere',
      ADMIN_EMAILS: 'Boss@Example.com, ops@example.com',
      HEALTH_TIMEOUT_MS: '2000',
      SHUTDOWN_TIMEOUT_MS: '9000',
      ACCESS_TOKEN_TTL_SECONDS: '600',
      REFRESH_TOKEN_TTL_SECONDS: '86400',
      REFRESH_REUSE_GRACE_SECONDS: '5',
      UPLOAD_MAX_BYTES: '2048',
      USER_QUOTA_BYTES: '4096',
      CACHE_TTL_MS: '1234',
      REDIS_KEY_PREFIX: 'other:',
      REDIS_COMMAND_TIMEOUT_MS: '300',
      RATE_LIMIT_MAX: '77',
      RATE_LIMIT_WINDOW_MS: '5000',
      AUTH_RATE_LIMIT_MAX: '7',
      AUTH_RATE_LIMIT_WINDOW_MS: '6000',
      METRICS_TOKEN: 'metrics-token-0123456789',
      ACCOUNT_LOGIN_FAILURES_MAX: '4',
      ACCOUNT_LOGIN_WINDOW_MS: '70000',
      ACCOUNT_LOGIN_DELAY_MAX_SECONDS: '30',
      BODY_IDLE_TIMEOUT_MS: '4000',
      DOCS_ENABLED: 'false',
      DOWNLOAD_CONCURRENCY_PER_USER: '2',
      DOWNLOAD_CONCURRENCY: '8',
      DOWNLOAD_STALL_TIMEOUT_MS: '1500',
      CACHE_MAX_ENTRIES_PER_USER: '50',
      EVENTS_HEARTBEAT_MS: '500',
      EVENTS_REPLAY_SECONDS: '60',
      EVENTS_MAX_STREAMS_PER_USER: '3',
      LINK_PASSWORD_ATTEMPTS_MAX: '4',
      LINK_PASSWORD_LINK_ATTEMPTS_MAX: '40',
      LINK_PASSWORD_WINDOW_MS: '30000',
      SMTP_URL: 'smtp://mailer:587',
      MAIL_FROM: 'Docs <docs@example.com>',
      PUBLIC_URL: 'https://app.example.com/',
      VERIFY_EMAIL_TTL_SECONDS: '7200',
      RESET_PASSWORD_TTL_SECONDS: '600',
      EMAIL_CHANGE_TTL_SECONDS: '3000',
      MAIL_RETRY_BASE_MS: '500',
      MAIL_POLL_INTERVAL_MS: '250',
      REQUIRE_VERIFIED_EMAIL: 'true',
      ACCOUNT_RATE_LIMIT_MAX: '3',
      ACCOUNT_RATE_LIMIT_WINDOW_MS: '60000',
      AUDIT_RETENTION_DAYS: '30',
      OIDC_ISSUER_URL: 'https://sso.example.com/realms/main',
      OIDC_CLIENT_ID: 'ultrai',
      OIDC_CLIENT_SECRET: 'oidc-secret-0123456789',
      OIDC_SCOPES: 'openid email',
      OIDC_NAME: 'Example SSO',
      OIDC_ALLOWED_REDIRECTS: 'https://app.example.com/signed-in, http://localhost:5173/cb',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'docs-api',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      STORAGE_DRIVER: 's3',
      S3_BUCKET: 'docs',
      S3_REGION: 'eu-central-1',
      S3_ENDPOINT: 'https://s3.example.com',
      S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      S3_SECRET_ACCESS_KEY: 'secret-example',
      S3_FORCE_PATH_STYLE: 'true',
      DOWNLOAD_URL_TTL_SECONDS: '60',
      DIRECT_UPLOAD_TTL_SECONDS: '120',
      MAX_VERSIONS_PER_DOCUMENT: '5',
      TRASH_RETENTION_DAYS: '14',
      PDF_TEXT_WORKERS: '2',
      PDF_TEXT_POLL_INTERVAL_MS: '700',
      PDF_TEXT_TIMEOUT_MS: '9000',
      PDF_TEXT_MEMORY_MB: '64',
      PDF_TEXT_MAX_PAGES: '300',
      PDF_TEXT_MAX_CHARS: '50000',
    };
    const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8').split(/^## Configuration$/m)[1];
    const documented = [...readme.split(/^## /m)[0].matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(Object.keys(all).sort()).toEqual(documented.sort());

    const config = loadConfig(all);
    expect(config).toMatchObject({
      port: 10000,
      host: '127.0.0.1',
      nodeEnv: 'production',
      databaseUrl: 'postgres://u:p@db:5432/app',
      databaseSsl: 'no-verify',
      databasePoolMax: 5,
      redisUrl: 'redis://cache:6379',
      jwtSecret: 'y'.repeat(40),
      jwtSecretGenerated: false,
      logLevel: 'warn',
      corsOrigins: ['https://a.example.com', 'http://localhost:5173'],
      trustProxy: 1,
      dataDir: '/tmp/somewhere',
      adminEmails: ['boss@example.com', 'ops@example.com'],
      healthTimeoutMs: 2000,
      shutdownTimeoutMs: 9000,
      accessTokenTtlSeconds: 600,
      refreshTokenTtlSeconds: 86400,
      refreshReuseGraceSeconds: 5,
      uploadMaxBytes: 2048,
      userQuotaBytes: 4096,
      cacheTtlMs: 1234,
      redisKeyPrefix: 'other:',
      redisCommandTimeoutMs: 300,
      rateLimitMax: 77,
      rateLimitWindowMs: 5000,
      authRateLimitMax: 7,
      authRateLimitWindowMs: 6000,
      metricsToken: 'metrics-token-0123456789',
      accountLoginFailuresMax: 4,
      accountLoginWindowMs: 70000,
      accountLoginDelayMaxSeconds: 30,
      bodyIdleTimeoutMs: 4000,
      docsEnabled: false,
      downloadConcurrencyPerUser: 2,
      downloadConcurrency: 8,
      downloadStallTimeoutMs: 1500,
      cacheMaxEntriesPerUser: 50,
      tracing: {
        endpoint: 'http://collector:4318',
        serviceName: 'docs-api',
        sampler: 'parentbased_traceidratio',
        samplerRatio: 0.25,
      },
      eventsHeartbeatMs: 500,
      eventsReplaySeconds: 60,
      eventsMaxStreamsPerUser: 3,
      linkPasswordAttemptsMax: 4,
      linkPasswordLinkAttemptsMax: 40,
      linkPasswordWindowMs: 30000,
      accounts: {
        smtpUrl: 'smtp://mailer:587',
        mailFrom: 'Docs <docs@example.com>',
        publicUrl: 'https://app.example.com',
        verifyEmailTtlSeconds: 7200,
        resetPasswordTtlSeconds: 600,
        emailChangeTtlSeconds: 3000,
        mailRetryBaseMs: 500,
        mailPollIntervalMs: 250,
        requireVerifiedEmail: true,
        accountRateLimitMax: 3,
        accountRateLimitWindowMs: 60000,
        auditRetentionDays: 30,
      },
      storage: {
        driver: 's3',
        s3: {
          bucket: 'docs',
          region: 'eu-central-1',
          endpoint: 'https://s3.example.com',
          accessKeyId: 'AKIAEXAMPLE',
          secretAccessKey: 'secret-example',
          forcePathStyle: true,
        },
        downloadUrlTtlSeconds: 60,
        directUploadTtlSeconds: 120,
        maxVersionsPerDocument: 5,
      },
      oidc: {
        issuerUrl: 'https://sso.example.com/realms/main',
        clientId: 'ultrai',
        clientSecret: 'oidc-secret-0123456789',
        scopes: 'openid email',
        name: 'Example SSO',
        allowedRedirects: ['https://app.example.com/signed-in', 'http://localhost:5173/cb'],
      },
      documents: {
        trashRetentionDays: 14,
        pdfTextWorkers: 2,
        pdfTextPollIntervalMs: 700,
        pdfTextTimeoutMs: 9000,
        pdfTextMemoryMb: 64,
        pdfTextMaxPages: 300,
        pdfTextMaxChars: 50000,
      },
    });
    expect(config.embeddedDatabase).toBe(false);
    expect(config.production).toBe(true);
  });

  it('refuses s3 without a bucket, half a key pair, and files over what the driver holds', () => {
    expect(() => loadConfig({ STORAGE_DRIVER: 's3' })).toThrow(/S3_BUCKET is required/);
    expect(() => loadConfig({ S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k' })).toThrow(/go together/);
    expect(() => loadConfig({ STORAGE_DRIVER: 'ftp' })).toThrow(/STORAGE_DRIVER must be one of postgres, s3/);
    expect(() => loadConfig({ UPLOAD_MAX_BYTES: String(2 * 1024 ** 3) })).toThrow(
      /larger files need STORAGE_DRIVER=s3/,
    );
    expect(
      loadConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_REGION: 'auto', UPLOAD_MAX_BYTES: String(5 * 1024 ** 3) })
        .uploadMaxBytes,
    ).toBe(5 * 1024 ** 3);
  });

  it('needs a client id and allowed redirects with OIDC_ISSUER_URL, and https in production', () => {
    expect(problemsOf({ OIDC_ISSUER_URL: 'https://sso.example.com' })).toEqual([
      'OIDC_CLIENT_ID is required when OIDC_ISSUER_URL is set',
      expect.stringMatching(/^OIDC_ALLOWED_REDIRECTS is required when OIDC_ISSUER_URL is set/),
    ]);
    const complete = { OIDC_CLIENT_ID: 'c', OIDC_ALLOWED_REDIRECTS: 'https://app.example.com/cb' };
    expect(problemsOf({ ...complete, OIDC_ISSUER_URL: 'https://sso.example.com', OIDC_SCOPES: 'email' })).toEqual([
      'OIDC_SCOPES must include openid (got "email")',
    ]);
    expect(problemsOf({ ...complete, OIDC_ISSUER_URL: 'http://localhost:8080' })).toEqual([]);
    expect(
      problemsOf({ ...complete, OIDC_ISSUER_URL: 'http://sso.example.com', NODE_ENV: 'production' }).filter((p) =>
        p.startsWith('OIDC'),
      ),
    ).toEqual(['OIDC_ISSUER_URL must be a URL starting with https:// when NODE_ENV=production']);
    expect(problemsOf({ OIDC_ALLOWED_REDIRECTS: 'app.example.com/cb' })).toEqual([
      expect.stringMatching(/^OIDC_ALLOWED_REDIRECTS entries must be absolute http\(s\) URLs/),
    ]);
  });

  it('turns tracing on only with OTEL_EXPORTER_OTLP_ENDPOINT, and refuses a bad sampler or ratio', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com' }).tracing).toEqual({
      endpoint: 'https://otel.example.com',
      serviceName: 'ultrai-core',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
    expect(
      problemsOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://otel:4317',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
      }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT must be a URL starting with http:// or https://',
      expect.stringMatching(/^OTEL_TRACES_SAMPLER must be one of parentbased_always_on, .* \(got "sometimes"\)$/),
      'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1 (got "1.5")',
    ]);
  });

  it('takes proxy addresses and CIDR ranges for TRUST_PROXY', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
  });

  it('takes booleans in the usual spellings', () => {
    expect(loadConfig({ TRUST_PROXY: 'true', DATABASE_SSL: 'true' })).toMatchObject({
      trustProxy: true,
      databaseSsl: 'verify',
    });
    expect(loadConfig({ TRUST_PROXY: '0', DATABASE_SSL: '0' })).toMatchObject({
      trustProxy: false,
      databaseSsl: false,
    });
  });

  it.each([
    ['PORT', '0', /PORT must be an integer from 1 to 65535/],
    ['PORT', '70000', /PORT/],
    ['PORT', '3e3', /PORT/],
    ['NODE_ENV', 'staging', /NODE_ENV must be one of development, production, test/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\//],
    ['DATABASE_SSL', 'maybe', /DATABASE_SSL must be true, false or no-verify/],
    ['DATABASE_POOL_MAX', '0', /DATABASE_POOL_MAX/],
    ['REDIS_URL', 'http://cache', /REDIS_URL must be a URL starting with redis:\/\/ or rediss:\/\//],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of/],
    ['CORS_ORIGINS', 'https://a.example.com/path', /CORS_ORIGINS entries must be origins/],
    ['TRUST_PROXY', 'sometimes', /TRUST_PROXY must be true, false, a number of proxy hops, or proxy addresses/],
  ])('refuses %s=%s', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reads ADMIN_EMAILS as trimmed, lower-cased emails, and refuses what is not one', () => {
    expect(loadConfig({ ADMIN_EMAILS: ' Ada@Example.com, ,bob@example.com ' }).adminEmails).toEqual([
      'ada@example.com',
      'bob@example.com',
    ]);
    expect(problemsOf({ ADMIN_EMAILS: 'ada@example.com, not-an-email' })).toEqual([
      'ADMIN_EMAILS must be comma-separated email addresses (got "not-an-email")',
    ]);
  });

  it('without JWT_SECRET outside production, keeps one secret in DATA_DIR when asked', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ultrai-config-'));
    try {
      const first = loadConfig({ DATA_DIR: dataDir }, { keepDevelopmentSecret: true });
      expect(first.jwtSecretFile).toBe(join(dataDir, 'jwt-secret'));
      expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
      expect(loadConfig({ DATA_DIR: dataDir }, { keepDevelopmentSecret: true }).jwtSecret).toBe(first.jwtSecret);
      // Not asked (tests, other callers): a secret for this process only.
      expect(loadConfig({ DATA_DIR: dataDir })).toMatchObject({ jwtSecretFile: undefined });
      expect(loadConfig({ DATA_DIR: dataDir }).jwtSecret).not.toBe(first.jwtSecret);
      // A given secret wins, and production never uses the file.
      const given = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: 'given' }, { keepDevelopmentSecret: true });
      expect(given).toMatchObject({ jwtSecret: 'given', jwtSecretFile: undefined });
      expect(() => loadConfig({ ...PROD, JWT_SECRET: '', DATA_DIR: dataDir }, { keepDevelopmentSecret: true })).toThrow(
        /JWT_SECRET is required when NODE_ENV=production/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('lists every problem in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'x', LOG_LEVEL: 'y', REDIS_URL: 'z' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(3);
    expect((error as ConfigError).message).toMatch(
      /^Invalid configuration:\n {2}- PORT.*\n {2}- REDIS_URL.*\n {2}- LOG_LEVEL/s,
    );
  });

  it('reads the per-account login limits, with their bounds', () => {
    expect(loadConfig({})).toMatchObject({
      accountLoginFailuresMax: 10,
      accountLoginWindowMs: 900_000,
      accountLoginDelayMaxSeconds: 60,
    });
    expect(
      loadConfig({
        ACCOUNT_LOGIN_FAILURES_MAX: '5',
        ACCOUNT_LOGIN_WINDOW_MS: '60000',
        ACCOUNT_LOGIN_DELAY_MAX_SECONDS: '30',
      }),
    ).toMatchObject({ accountLoginFailuresMax: 5, accountLoginWindowMs: 60_000, accountLoginDelayMaxSeconds: 30 });
    expect(problemsOf({ ACCOUNT_LOGIN_DELAY_MAX_SECONDS: '0' })[0]).toMatch(
      /ACCOUNT_LOGIN_DELAY_MAX_SECONDS must be an integer from 1 to 3600/,
    );
    expect(problemsOf({ ACCOUNT_LOGIN_FAILURES_MAX: '0' })).toHaveLength(1);
  });

  it('never repeats a URL that may hold a password', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(problem).not.toContain('hunter2');
  });

  describe('in production', () => {
    it('starts with DATABASE_URL and a long JWT_SECRET', () => {
      expect(problemsOf(PROD)).toEqual([]);
    });

    it('refuses to start without DATABASE_URL (no embedded database in production)', () => {
      const { DATABASE_URL: _omitted, ...env } = PROD;
      expect(problemsOf(env)).toEqual([expect.stringMatching(/DATABASE_URL is required when NODE_ENV=production/)]);
    });

    it('refuses a missing JWT_SECRET', () => {
      const { JWT_SECRET: _omitted, ...env } = PROD;
      expect(problemsOf(env)).toEqual([expect.stringMatching(/JWT_SECRET is required/)]);
    });

    it('refuses a JWT_SECRET shorter than 32 characters, without printing it', () => {
      const problems = problemsOf({ ...PROD, JWT_SECRET: 'short-secret-31-characters-long' });
      expect(problems).toEqual([expect.stringMatching(/JWT_SECRET must be at least 32 characters .*it has 31/)]);
      expect(problems[0]).not.toContain('short-secret');
    });
  });

  it('reads BODY_IDLE_TIMEOUT_MS (default 30 s) and refuses values out of range', () => {
    expect(loadConfig({}).bodyIdleTimeoutMs).toBe(30_000);
    expect(loadConfig({ BODY_IDLE_TIMEOUT_MS: '500' }).bodyIdleTimeoutMs).toBe(500);
    expect(problemsOf({ BODY_IDLE_TIMEOUT_MS: '10' })).toEqual([
      'BODY_IDLE_TIMEOUT_MS must be an integer from 100 to 600000 (got "10")',
    ]);
  });
});
