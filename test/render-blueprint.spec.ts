import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { loadConfig } from '../src/config/config.js';
import { ROOT } from './support/process.js';

// Render's schema, copied into the repository (see the .md beside it for where from and when).
const schemaPath = join(ROOT, 'test', 'fixtures', 'render.yaml.schema.json');

interface EnvVar {
  key: string;
  value?: string;
  sync?: boolean;
  generateValue?: boolean;
  fromDatabase?: { name: string; property: string };
  fromService?: { type: string; name: string; property?: string };
}

/** What Render would put in the environment for each kind of entry (with stand-in values). */
function renderEnvironment(envVars: EnvVar[]): Record<string, string> {
  const env: Record<string, string> = { PORT: '10000' }; // Render sets PORT; 10000 by default
  for (const v of envVars) {
    if (v.value !== undefined) env[v.key] = String(v.value);
    else if (v.generateValue)
      env[v.key] = Buffer.alloc(32, 7).toString('base64'); // a base64 256-bit value
    else if (v.fromDatabase) env[v.key] = 'postgresql://ultrai:secret@dpg-internal:5432/ultrai';
    else if (v.fromService?.type === 'keyvalue') env[v.key] = 'redis://red-internal:6379';
  }
  return env;
}

describe('render.yaml', () => {
  const blueprint = parse(readFileSync(join(ROOT, 'render.yaml'), 'utf8'));
  const web = blueprint.services.find((s: { type: string }) => s.type === 'web');

  it('is valid against the Render Blueprint schema (JSON Schema 2020-12)', () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const valid = validate(blueprint);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // and the validator is not vacuous: a Key Value without ipAllowList is refused
    const broken = structuredClone(blueprint);
    delete broken.services.find((s: { type: string }) => s.type === 'keyvalue').ipAllowList;
    expect(validate(broken)).toBe(false);
  });

  it('wires a Docker web service to its database, Key Value and a generated secret', () => {
    expect(web).toMatchObject({ runtime: 'docker', healthCheckPath: '/health/ready', plan: expect.any(String) });
    const env = new Map<string, EnvVar>(web.envVars.map((v: EnvVar) => [v.key, v]));
    expect(env.get('NODE_ENV')?.value).toBe('production');
    expect(env.get('JWT_SECRET')).toEqual({ key: 'JWT_SECRET', generateValue: true });
    // Asked for when the Blueprint is applied: the first administrator, without a shell.
    expect(env.get('ADMIN_EMAILS')).toEqual({ key: 'ADMIN_EMAILS', sync: false });
    expect(env.get('METRICS_TOKEN')).toEqual({ key: 'METRICS_TOKEN', generateValue: true });

    const database = blueprint.databases[0];
    expect(database.plan).toEqual(expect.any(String));
    expect(env.get('DATABASE_URL')?.fromDatabase).toEqual({ name: database.name, property: 'connectionString' });

    const keyvalue = blueprint.services.find((s: { type: string }) => s.type === 'keyvalue');
    expect(keyvalue).toMatchObject({ plan: expect.any(String), ipAllowList: [] });
    expect(env.get('REDIS_URL')?.fromService).toEqual({
      type: 'keyvalue',
      name: keyvalue.name,
      property: 'connectionString',
    });
  });

  it('provides every variable the service needs in production, and the service takes them', () => {
    const env = renderEnvironment(web.envVars);
    const config = loadConfig(env); // throws, listing what is missing or wrong, if anything is
    expect(config).toMatchObject({ production: true, port: 10000, trustProxy: 1 });
    expect(config.databaseUrl).toBeDefined();
    expect(config.redisUrl).toBeDefined();
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.metricsToken).toBeDefined();
    // and without them it would refuse to start
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /DATABASE_URL is required[\s\S]*JWT_SECRET is required/,
    );
  });
});
