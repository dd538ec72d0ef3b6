// What the bundles (scripts/bundle.mjs) leave to node_modules.

/**
 * Loaded from node_modules at run time, because they read files beside their own
 * modules: a native addon, WebAssembly and data files, Swagger UI's static assets.
 * And nodemailer, imported with the first mail: bundled, its imports of node:tls,
 * node:https, node:zlib and node:dns would be hoisted to the bundle's top and load at
 * every start (measured: +10 MiB idle RSS).
 * And libphonenumber-js, which class-validator's IsPhoneNumber loads on first use (a lazy
 * stand-in, scripts/bundle.mjs): no request of this service validates a phone number.
 */
export const RUNTIME_PACKAGES = [
  'argon2',
  '@electric-sql/pglite',
  'swagger-ui-dist',
  'nodemailer',
  'libphonenumber-js',
];

/** Optional packages and paths Nest tries to load and does without when they are absent (never installed). */
export const ABSENT_PACKAGES = [
  '@nestjs/microservices',
  '@nestjs/websockets',
  '@nestjs/platform-express',
  '@fastify/view',
  // @nestjs/mapped-types' fallback for class-transformer builds without cjs/storage.
  'class-transformer/storage',
];

/**
 * Bundled, but looked up with require.resolve() at run time before the bundled copy is
 * used (fdir does so for picomatch), so they must be installed too.
 */
export const RESOLVED_PACKAGES = ['picomatch'];

/**
 * What the image keeps in node_modules (scripts/prune-runtime-modules.mjs): the packages
 * above and their dependencies, except PGlite, which the image never loads (it sets
 * NODE_ENV=production, where a missing DATABASE_URL stops the start).
 */
export const IMAGE_PACKAGES = [
  ...RUNTIME_PACKAGES.filter((name) => name !== '@electric-sql/pglite'),
  ...RESOLVED_PACKAGES,
];
