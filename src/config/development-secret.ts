import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The JWT secret of a development checkout: made once, kept in the data directory
 * (readable by its owner only), and read back on every later start, so a restart
 * does not log everyone out. Production never uses it: there JWT_SECRET is required.
 */
export function developmentSecret(dataDir: string): { secret: string; file: string } {
  const file = join(dataDir, 'jwt-secret');
  const existing = readIfPresent(file);
  if (existing) return { secret: existing, file };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process made it first: use that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { secret: readIfPresent(file) ?? secret, file };
    throw error;
  }
  return { secret, file };
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
