// The server as one file: tsc writes dist/src/ (with the decorator metadata Nest
// needs), then esbuild bundles dist/src/main.js and its dependencies into
// dist/main.js. Loading one 6 MB file instead of ~1,500 modules cuts cold start by
// about a second and idle memory by about 20 MiB (see README, Performance).
// dist/cli.js stays a one-line entry point into dist/src/ (the CLI is not on a hot path).
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);
const outfile = new URL('main.js', dist).pathname;

await build({
  entryPoints: [new URL('src/main.js', dist).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Nest and Swagger read class names (schema names, log contexts): keep them.
  keepNames: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  charset: 'ascii',
  logLevel: 'warning',
  external: [
    // Read files beside their own modules at run time (a native addon, WebAssembly and
    // data files, Swagger UI's static assets): loaded from node_modules as usual.
    'argon2',
    '@electric-sql/pglite',
    '@electric-sql/pglite/*',
    'swagger-ui-dist',
    // Optional packages Nest tries to load and does without when they are absent.
    '@nestjs/microservices',
    '@nestjs/microservices/*',
    '@nestjs/websockets',
    '@nestjs/websockets/*',
    '@nestjs/platform-express',
    '@fastify/view',
  ],
  // CommonJS dependencies call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});

// esbuild leaves non-ASCII characters inside regular expression literals (validator's
// alphabets). One such character makes V8 hold the whole source as a two-byte string,
// twice the memory: escape them. \uXXXX means the same code unit in a string, template,
// identifier or regular expression.
const source = readFileSync(outfile, 'utf8');
writeFileSync(
  outfile,
  source.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
);

writeFileSync(new URL('cli.js', dist), `import './src/cli.js';\n`);
