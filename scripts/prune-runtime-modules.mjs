// For the image: after `npm ci --omit=dev`, keeps in node_modules only what the bundles
// load from it at run time (IMAGE_PACKAGES in scripts/externals.mjs) and their
// dependencies, resolved the way Node resolves them, from package-lock.json. The rest
// is inside dist/main.js and dist/cli.js already.
// Usage: node scripts/prune-runtime-modules.mjs [--dry-run]   (from the project root)
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { IMAGE_PACKAGES } from './externals.mjs';

const dryRun = process.argv.includes('--dry-run');
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const installed = lock.packages;

/** Where `name`, required from the package at `from`, is installed: its own node_modules, then each parent's. */
function resolve(name, from) {
  for (let dir = from; ;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (installed[candidate] && !installed[candidate].dev) return candidate;
    if (!dir) return undefined;
    const at = dir.lastIndexOf('/node_modules/');
    dir = at < 0 ? '' : dir.slice(0, at);
  }
}

const keep = new Set();
const queue = IMAGE_PACKAGES.map((name) => {
  const path = resolve(name, '');
  if (!path) throw new Error(`${name} is not a production dependency in package-lock.json`);
  return path;
});
while (queue.length > 0) {
  const path = queue.pop();
  if (keep.has(path)) continue;
  keep.add(path);
  const { dependencies = {}, optionalDependencies = {} } = installed[path];
  for (const name of Object.keys({ ...dependencies, ...optionalDependencies })) {
    const found = resolve(name, path);
    if (found) queue.push(found);
  }
}

// Top-level entries to keep: a kept package's own directory (nested ones live inside it).
const topLevel = new Set([...keep].map((path) => path.split('/node_modules/')[0].replace(/^node_modules\//, '')));
let removed = 0;
for (const entry of readdirSync('node_modules')) {
  const names = entry.startsWith('@') ? readdirSync(`node_modules/${entry}`).map((n) => `${entry}/${n}`) : [entry];
  for (const name of names) {
    if (topLevel.has(name)) continue;
    removed++;
    if (!dryRun) rmSync(`node_modules/${name}`, { recursive: true, force: true });
  }
  if (!dryRun && entry.startsWith('@') && readdirSync(`node_modules/${entry}`).length === 0) {
    rmSync(`node_modules/${entry}`, { recursive: true });
  }
}
console.log(`kept ${[...topLevel].sort().join(', ')}; removed ${removed} other entries`);
