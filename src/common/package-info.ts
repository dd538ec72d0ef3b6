import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
  description: string;
}

/** Our package.json, found by walking up from this file (works from src/ and dist/src/). */
function readPackageInfo(): PackageInfo {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as Partial<PackageInfo>;
      if (pkg.name === 'ultrai-core') {
        return { name: pkg.name, version: pkg.version ?? '0.0.0', description: pkg.description ?? '' };
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'ultrai-core', version: '0.0.0', description: '' };
    dir = parent;
  }
}

export const packageInfo: PackageInfo = readPackageInfo();
