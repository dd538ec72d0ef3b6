import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './support/process.js';

// semver comes with npm's own tooling (a dependency of several packages here), not added for this test.
const semver = createRequire(import.meta.url)('semver') as {
  subset(range: string, of: string): boolean;
  satisfies(version: string, range: string): boolean;
};

/** `engines` says honestly which Node.js versions work: every installed package accepts all of them. */
describe('engines.node', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const ours: string = pkg.engines.node;

  it('is within what every dependency declares (no EBADENGINE on a supported Node.js)', () => {
    const narrower = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([path, info]) => path !== '' && typeof info.engines?.node === 'string')
      .filter(([, info]) => !semver.subset(ours, info.engines!.node!))
      .map(([path, info]) => `${path.replace(/^.*node_modules\//, '')} wants ${info.engines!.node}`);
    expect(narrower).toEqual([]);
    expect(lock.packages[''].engines.node).toBe(ours);
  });

  it('includes the major the image runs, and not Node 20 (out of support; dependencies need 22)', () => {
    const major = /^FROM node:(\d+)-/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))![1];
    expect(semver.satisfies(`${major}.99.0`, ours)).toBe(true);
    expect(semver.satisfies('20.20.2', ours)).toBe(false);
  });
});
