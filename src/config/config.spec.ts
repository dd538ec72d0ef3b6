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
    const config = loadConfig({
      ...PROD,
      PORT: '10000',
      HOST: '127.0.0.1',
      DATABASE_SSL: 'no-verify',
      DATABASE_POOL_MAX: '5',
      REDIS_URL: 'redis://cache:6379',
      LOG_LEVEL: 'warn',
      CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
      TRUST_PROXY: '1',
      DATA_DIR: '/tmp/somewhere',
    });
    expect(config).toMatchObject({
      port: 10000,
      host: '127.0.0.1',
      databaseUrl: PROD.DATABASE_URL,
      databaseSsl: 'no-verify',
      databasePoolMax: 5,
      redisUrl: 'redis://cache:6379',
      logLevel: 'warn',
      corsOrigins: ['https://a.example.com', 'http://localhost:5173'],
      trustProxy: 1,
      dataDir: '/tmp/somewhere',
      jwtSecretGenerated: false,
    });
    expect(config.embeddedDatabase).toBe(false);
    expect(config.production).toBe(true);
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
