import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../src/config/config.js';
import { ROOT } from './support/process.js';

/** The rows of the README's configuration table: variable, default cell, meaning cell. */
function readmeRows(): Array<{ name: string; default: string; meaning: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1].split(/^## /m)[0];
  return section
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z]/.test(line))
    .map((line) => {
      const [name, defaultCell, meaning] = line
        .split('|')
        .slice(1, 4)
        .map((cell) => cell.trim());
      return { name: name.replaceAll('`', ''), default: defaultCell, meaning };
    });
}

/** Every variable loadConfig asks the environment for, in development and in production. */
function variablesRead(): Set<string> {
  const names = new Set<string>();
  const recording = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, key) => {
      if (typeof key === 'string') names.add(key);
      return undefined;
    },
    has: (_target, key) => {
      if (typeof key === 'string') names.add(key);
      return false;
    },
  });
  for (const nodeEnv of ['development', 'production']) {
    const env = new Proxy(recording, {
      get: (target, key) => (key === 'NODE_ENV' ? (names.add(key), nodeEnv) : Reflect.get(target, key)),
    });
    try {
      loadConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
  }
  return names;
}

const BASE = { JWT_SECRET: 'a-fixed-secret-for-comparing-configs-0123' };

describe('the README configuration table', () => {
  const rows = readmeRows();

  it('is the configuration tables of src/config (CONFIG_VARIABLES), row for row', () => {
    // To fix: copy the table's default and meaning into README (or the other way round).
    const table = CONFIG_VARIABLES.map((v) => ({ name: v.name, default: v.default, meaning: v.meaning }));
    expect(rows).toEqual(table);
    expect(rows.length).toBeGreaterThanOrEqual(49);
  });

  it('lists every variable loadConfig reads, and no other', () => {
    const read = variablesRead();
    const listed = new Set(rows.map((r) => r.name));
    expect({ missingFromReadme: [...read].filter((n) => !listed.has(n)).sort() }).toEqual({ missingFromReadme: [] });
    expect({ notReadByConfig: [...listed].filter((n) => !read.has(n)).sort() }).toEqual({ notReadByConfig: [] });
    expect(rows.length).toBe(listed.size);
  });

  it('gives each default as the value the service takes when the variable is unset', () => {
    const unset = loadConfig(BASE);
    const checked = rows.filter((row) => /^`[^`]+`/.test(row.default));
    expect(checked.length).toBeGreaterThanOrEqual(20);
    for (const row of checked) {
      const value = /^`([^`]+)`/.exec(row.default)![1];
      expect({ name: row.name, config: loadConfig({ ...BASE, [row.name]: value }) }).toEqual({
        name: row.name,
        config: unset,
      });
    }
  });

  it('gives each range as the values the service accepts, and refuses just outside it', () => {
    const ranged = rows.flatMap((row) => {
      const match = /`(\d+)`–`(\d+)`/.exec(row.meaning);
      return match ? [{ name: row.name, min: BigInt(match[1]), max: BigInt(match[2]) }] : [];
    });
    expect(ranged.length).toBeGreaterThanOrEqual(15);
    const refuses = (name: string, value: bigint) => {
      try {
        loadConfig({ ...BASE, [name]: String(value) });
        return false;
      } catch (error) {
        return error instanceof ConfigError && error.problems.some((p) => p.startsWith(name));
      }
    };
    for (const { name, min, max } of ranged) {
      expect({ name, min: refuses(name, min), max: refuses(name, max) }).toEqual({ name, min: false, max: false });
      expect({ name, belowMin: min > 0n && !refuses(name, min - 1n), aboveMax: !refuses(name, max + 1n) }).toEqual({
        name,
        belowMin: false,
        aboveMax: false,
      });
    }
  });
});
