/**
 * The configuration as tables of environment variables: each variable's name,
 * its parser (which holds the default and the accepted values), and the two
 * cells README's configuration table shows for it (default, meaning). The same
 * tables parse the environment (loadConfig) and are checked against README's
 * table (test/readme-config.spec.ts), so the documentation cannot drift.
 */

export type Env = Record<string, string | undefined>;

/**
 * Turns a variable's value (trimmed; undefined when unset or empty) into its
 * setting. A bad value adds a problem naming the variable (never repeating a
 * value that may be secret) and gives the default, so that one start lists
 * every problem.
 */
export type Parser<T> = (raw: string | undefined, name: string, problems: string[]) => T;

export interface Variable<T> {
  name: string;
  parse: Parser<T>;
  /** README's default cell, as written there. */
  default: string;
  /** README's meaning cell, as written there. */
  meaning: string;
}

/** One variable per setting of S, in README's order. */
export type VariableTable<S> = { [K in keyof S]: Variable<S[K]> };

export function variable<T>(name: string, parse: Parser<T>, readme: { default: string; meaning: string }): Variable<T> {
  return { name, parse, default: readme.default, meaning: readme.meaning };
}

/** The environment's value of a variable: trimmed, and undefined when unset or empty. */
export function readVariable(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** Every setting of a table, read from `env`; problems are added to `problems`. */
export function readTable<S>(table: VariableTable<S>, env: Env, problems: string[]): S {
  const settings = {} as S;
  for (const key of Object.keys(table) as Array<keyof S>) {
    const { name, parse } = table[key];
    settings[key] = parse(readVariable(env, name), name, problems);
  }
  return settings;
}

// ---------------------------------------------------------------- parsers

/** A whole number from `min` to `max`. */
export function integer(fallback: number, min: number, max: number): Parser<number> {
  return (raw, name, problems) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
}

export function parseBoolean(raw: string): boolean | undefined {
  const value = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  return undefined;
}

/** true/false, 1/0, yes/no, on/off. */
export function flag(fallback: boolean): Parser<boolean> {
  return (raw, name, problems) => {
    if (raw === undefined) return fallback;
    const value = parseBoolean(raw);
    if (value === undefined) problems.push(`${name} must be true or false (got "${raw}")`);
    return value ?? fallback;
  };
}

/** One of a few words. */
export function oneOf<T extends string>(allowed: readonly T[], fallback: T): Parser<T> {
  return (raw, name, problems) => {
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };
}

/** A URL with one of these protocols (e.g. `redis:`); undefined when unset. */
export function url(protocols: string[]): Parser<string | undefined> {
  return (raw, name, problems) => {
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
}

/** Any text: `fallback` when unset. */
export function text(fallback: string): Parser<string> {
  return (raw) => raw ?? fallback;
}

/** Any text, undefined when unset (a secret, a token). */
export function optionalText(): Parser<string | undefined> {
  return (raw) => raw;
}

/**
 * A comma-separated list whose entries (trimmed, after `normalise`) must pass
 * `accept`; `rule` follows the variable's name in the problem ("must be ...").
 */
export function list(
  accept: (entry: string) => boolean,
  rule: string,
  normalise: (entry: string) => string = (entry) => entry,
): Parser<string[]> {
  return (raw, name, problems) => {
    const entries: string[] = [];
    for (const entry of (raw ?? '').split(',').map((e) => normalise(e.trim()))) {
      if (entry === '') continue;
      if (accept(entry)) entries.push(entry);
      else problems.push(`${name} ${rule} (got "${entry}")`);
    }
    return entries;
  };
}
