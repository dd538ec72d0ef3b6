// The server and the CLI as bundles: tsc writes dist/src/ (with the decorator metadata
// Nest needs), then esbuild bundles dist/src/main.js and dist/src/cli.js with their
// dependencies into dist/server.cjs (run by dist/main.js, see ENTRIES) and dist/cli.js. Loading one file instead of ~1,500
// modules cuts cold start by about a second and idle memory by about 20 MiB (see README,
// Performance). The packages in scripts/externals.mjs stay in node_modules.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { build } from 'esbuild';
import { ABSENT_PACKAGES, RUNTIME_PACKAGES } from './externals.mjs';

const dist = new URL('../dist/', import.meta.url).pathname;

/**
 * A few Nest packages load optional peers with `createRequire(import.meta.url)('x')`,
 * which esbuild leaves to run time (evanw/esbuild#1828): the bundle would then load a
 * second copy of the package from node_modules (or fail without it). Dropping that
 * local `require` lets esbuild bundle those calls like any other, one copy of each.
 *
 * The rewrite matches one exact line, so a Nest upgrade could make it miss a file (or
 * find a new one) silently: the build fails when the number of files rewritten in a
 * bundle is not EXPECTED_REWRITES (check the files it lists, then update the count).
 */
const EXPECTED_REWRITES = { server: 3, main: 0, cli: 0, tracing: 0, 'pdf-text.worker': 0 };
const LOCAL_REQUIRE = /^const require = createRequire\(import\.meta\.url\);$/m;

function bundleCreateRequire(rewritten) {
  return {
    name: 'bundle-create-require',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /[\\/]node_modules[\\/]@nestjs[\\/].*\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!LOCAL_REQUIRE.test(source)) return undefined;
        rewritten.push(args.path.slice(args.path.lastIndexOf('node_modules')));
        return { contents: source.replace(LOCAL_REQUIRE, ''), loader: 'js' };
      });
    },
  };
}

/**
 * Nest's two loggers each make an `Intl.DateTimeFormat` when their module is evaluated,
 * for the timestamp of a console line. This server logs through pino, so those
 * formatters never format; making one reads ICU's date data, which keeps about 5 MiB of
 * the node binary resident and costs CPU at every start (measured: README, Performance).
 * Here each is made on its first use instead. A Nest release that changes the line
 * fails the build (check the file, then update the pattern).
 */
const EAGER_FORMATTER = /^const dateTimeFormatter = new Intl\.DateTimeFormat\(/m;
const LAZY_DATE_TIME_FORMAT =
  'function lazyDateTimeFormat(locale, options) {\n' +
  '  let formatter;\n' +
  '  return { format: (date) => (formatter ??= new Intl.DateTimeFormat(locale, options)).format(date) };\n' +
  '}\n';
const lazyNestDateFormat = sourcePatch({
  name: 'lazy-nest-date-format',
  filter: /[\\/]node_modules[\\/]@nestjs[\\/]common[\\/]services[\\/](console-)?logger\.service\.js$/,
  pattern: EAGER_FORMATTER,
  patch: (source) =>
    `${source.replace(EAGER_FORMATTER, 'const dateTimeFormatter = lazyDateTimeFormat(')}\n${LAZY_DATE_TIME_FORMAT}`,
});

/**
 * The files each patch of a dependency rewrote in the bundle being built, by the patch's
 * name (emptied before each bundle). A patch that finds its file changed fails the build;
 * one whose file is no longer bundled, or bundled from more places, would go unnoticed:
 * SERVER_PATCHES says how many files each must rewrite in dist/server.cjs.
 */
const patchedFiles = new Map();
const recordPatch = (name, path) => patchedFiles.set(name, [...(patchedFiles.get(name) ?? []), path]);

/**
 * An esbuild plugin that rewrites the dependency files matching `filter` with `patch`,
 * and fails the build when one of them no longer holds `pattern` (an upgrade changed the
 * code: check it, then update the pattern). The files patched are recorded (recordPatch).
 */
function sourcePatch({ name, filter, pattern, patch }) {
  return {
    name,
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!pattern.test(source)) throw new Error(`${args.path}: ${name} found nothing to patch (scripts/bundle.mjs)`);
        recordPatch(name, args.path);
        return { contents: patch(source), loader: 'js' };
      });
    },
  };
}

/**
 * An ESM `import … from 'node:http'` makes Node build the module's ESM facade, which reads
 * every export, getters included: node:http's lazy WebSocket/EventSource getters then load
 * undici, ~40 ms of CPU at start on Node 26 (measured) for nothing the server uses.
 * require() returns the exports object without reading them, so the bundle loads Node's
 * built-in modules with require() (the banner's), as its CommonJS dependencies already do.
 */
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[a-z_:/]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? { path: args.path.replace(/^node:/, ''), namespace: 'builtin-by-require' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'builtin-by-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

// prom-client's Pushgateway (which this service never uses) takes zlib's gzipSync when it
// loads: zlib's stand-in (LAZY_MODULES) would load zlib there. Read on the first push instead.
const PUSHGATEWAY_GZIP = /^const \{ gzipSync \} = require\('zlib'\);$/m;
const lazyPushgatewayGzip = sourcePatch({
  name: 'lazy-pushgateway-gzip',
  filter: /[\\/]node_modules[\\/]prom-client[\\/]lib[\\/]pushgateway\.js$/,
  pattern: PUSHGATEWAY_GZIP,
  patch: (source) =>
    source.replace(PUSHGATEWAY_GZIP, "const gzipSync = (...args) => require('zlib').gzipSync(...args);"),
});

/**
 * find-my-way (Fastify's router) compiles three kinds of small functions with
 * `new Function` as routes are added: a prefix matcher for each static node of the tree,
 * and for each route a params-object builder and a constraint matcher. This service's ~70
 * routes (and their HEAD twins) made 520 of them at every start, code that V8's compile
 * cache cannot keep, most of which no request ever calls (the constraint matchers are only
 * called for routes with constraints, which this service has none of). Each is now
 * compiled when it is first called, with the same source, and then replaces itself on the
 * object it was called on (`this`: the tree node, the handler, the handler storage), so
 * later calls go straight to the compiled one, as before. A prefix matcher answers its
 * first 99 calls with `startsWith` (the same answer: the compiled one compares the
 * prefix's characters after the first, which the caller has already matched), because
 * Fastify's check for an existing HEAD route walks the tree at every GET route it adds.
 */
const PREFIX_MATCH = /^function compilePrefixMatch \(prefix\) \{$/m;
const lazyRouterPrefixMatch = sourcePatch({
  name: 'lazy-router-prefix-match',
  filter: /[\\/]node_modules[\\/]find-my-way[\\/]lib[\\/]node\.js$/,
  pattern: PREFIX_MATCH,
  patch: (source) =>
    source.replace(
      PREFIX_MATCH,
      'function compilePrefixMatch (prefix) {\n' +
        '  if (prefix.length === 1 || prefix.length >= LONG_PREFIX_MIN_LENGTH) return compilePrefixMatchNow(prefix)\n' +
        '  let uses = 0\n' +
        '  return function matchPrefixUntilCompiled (path, i) {\n' +
        '    if (++uses < 100) return path.startsWith(prefix, i)\n' +
        '    const matchPrefix = compilePrefixMatchNow(prefix)\n' +
        '    this.matchPrefix = matchPrefix\n' +
        '    return matchPrefix(path, i)\n' +
        '  }\n' +
        '}\n' +
        'function compilePrefixMatchNow (prefix) {',
    ),
});
const PARAMS_OBJECT = /_createParamsObject: this\._compileCreateParamsObject\(params\)\n/;
const CONSTRAINTS_MATCHER =
  /this\._getHandlerMatchingConstraints = new Function\('derivedConstraints', lines\.join\('\\n'\)\)(.*)\n/;
const lazyRouterHandlerFunctions = sourcePatch({
  name: 'lazy-router-handler-functions',
  filter: /[\\/]node_modules[\\/]find-my-way[\\/]lib[\\/]handler-storage\.js$/,
  pattern: new RegExp(`${PARAMS_OBJECT.source}[^]*${CONSTRAINTS_MATCHER.source}`),
  patch: (source) =>
    source
      .replace(
        PARAMS_OBJECT,
        () =>
          '_createParamsObject: ((storage) => function createParamsObjectOnFirstUse (param0, param1, param2, param3, extraParams) {\n' +
          '        const createParamsObject = storage._compileCreateParamsObject(params)\n' +
          '        this._createParamsObject = createParamsObject\n' +
          '        return createParamsObject(param0, param1, param2, param3, extraParams)\n' +
          '      })(this)\n',
      )
      .replace(
        CONSTRAINTS_MATCHER,
        () =>
          "const body = lines.join('\\n')\n" +
          '    this._getHandlerMatchingConstraints = function getHandlerMatchingConstraintsOnFirstUse (derivedConstraints) {\n' +
          "      const getHandler = new Function('derivedConstraints', body) // eslint-disable-line\n" +
          '      this._getHandlerMatchingConstraints = getHandler\n' +
          '      return getHandler.call(this, derivedConstraints)\n' +
          '    }\n',
      ),
});

/**
 * jsonwebtoken asks semver, when it loads, whether the running Node has three crypto
 * features (Node >= 8, 15.7 and 16.9): parsing the ranges cost ~1.6 ms of every start.
 * package.json's engines (Node >= 22) answer yes to all three.
 */
const NODE_VERSION_CHECK = /^module\.exports = semver\.satisfies\(process\.version, '[^']+'\);$/m;
const jwtFeaturesFromEngines = sourcePatch({
  name: 'jwt-features-from-engines',
  filter:
    /[\\/]node_modules[\\/]jsonwebtoken[\\/]lib[\\/](asymmetricKeyDetailsSupported|psSupported|rsaPssKeyDetailsSupported)\.js$/,
  pattern: NODE_VERSION_CHECK,
  patch: (source) => source.replace(NODE_VERSION_CHECK, 'module.exports = true; // package.json engines: Node >= 22'),
});

// @fastify/static (Swagger UI's files) sizes its directory-listing queue when it loads with
// os.cpus(), which reads and parses /proc/cpuinfo (~1 ms of every start); the same count
// without the per-CPU details is os.availableParallelism().
const CPU_COUNT = /os\.cpus\(\)\.length/;
const staticCpuCount = sourcePatch({
  name: 'static-cpu-count',
  filter: /[\\/]node_modules[\\/]@fastify[\\/]static[\\/]lib[\\/]dirList\.js$/,
  pattern: CPU_COUNT,
  patch: (source) => source.replace(CPU_COUNT, 'os.availableParallelism()'),
});

/**
 * pino() reads its caller's call sites (util.getCallSites) for every logger it makes, only to
 * resolve the relative paths of a `transport` option; this service's loggers have none. A
 * call site's position makes V8 index the line ends of the script it is in, here the whole
 * 8.5 MB bundle: ~5 ms of every start (perf, 2026-11-30: all of the start's line-end
 * indexing came from there). Here they are read only for options that hold a transport,
 * still from pino() itself (the depth pino's caller.js counts on).
 */
const PINO_CALLER = /^ {2}const \{ opts, stream \} = normalize\(instance, caller\(\), \.\.\.args\)$/m;
const pinoCallerForTransportOnly = sourcePatch({
  name: 'pino-caller-for-transport-only',
  filter: /[\\/]node_modules[\\/]pino[\\/]pino\.js$/,
  pattern: PINO_CALLER,
  patch: (source) =>
    source.replace(
      PINO_CALLER,
      "  const { opts, stream } = normalize(instance, typeof args[0] === 'object' && args[0] !== null && 'transport' in args[0] ? caller() : undefined, ...args)",
    ),
});

/**
 * Barrel modules (an index re-exporting its package's modules) that require every module
 * of their package when they load, where this service uses a few of them: class-validator's
 * decorators (~130 decorator modules, and through IsStrongPassword all of validator's ~110,
 * where this service uses ~20 decorators) and rxjs's two indexes (226 modules evaluated at
 * start, 23 now). (TypeORM's index too would change nothing: its DataSource requires
 * nearly all of TypeORM.) Each
 * re-export here becomes a getter that requires its module on first read, with the names
 * the module exports (read here, at build time, by requiring it): what is never read is
 * never evaluated. Two forms, as tsc writes them:
 * - `__exportStar(require("./m"), exports);` (or tslib's): every name of ./m not already
 *   exported, as __exportStar does;
 * - `var m_1 = require("./m");` whose only uses are getters `return m_1.Name;`.
 * These modules only define things when they load (no registration, no global state), so
 * loading one later changes nothing but when it happens.
 */
const LAZY_BARRELS =
  /[\\/]node_modules[\\/](class-validator[\\/]cjs[\\/]decorator[\\/]decorators|rxjs[\\/]dist[\\/]cjs[\\/](operators[\\/])?index)\.js$/;
const EXPORT_STAR = /^(?:tslib_1\.)?__exportStar\(require\("(\.[^"]+)"\), exports\);$/gm;
const REQUIRE_VAR = /^var ([\w$]+) = require\("(\.[^"]+)"\);$/gm;
const LAZY_EXPORT_STAR_HELPER = `function __lazyExportStar(load, names, exports) {
  let m;
  for (const name of names)
    if (!Object.prototype.hasOwnProperty.call(exports, name))
      Object.defineProperty(exports, name, { enumerable: true, get: () => (m ??= load())[name] });
}
`;
const lazyBarrels = {
  name: 'lazy-barrels',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: LAZY_BARRELS }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const requireHere = createRequire(args.path);
      let rewritten = source.replace(EXPORT_STAR, (_, spec) => {
        const names = [];
        for (const name in requireHere(spec)) if (name !== 'default') names.push(name);
        return `__lazyExportStar(() => require(${JSON.stringify(spec)}), ${JSON.stringify(names)}, exports);`;
      });
      for (const [declaration, variable, spec] of source.matchAll(REQUIRE_VAR)) {
        const uses = source.split(new RegExp(`\\b${variable.replace(/\$/g, '\\$')}\\b`)).length - 1;
        const getterUse = new RegExp(`return ${variable.replace(/\$/g, '\\$')}\\.`, 'g');
        const getterUses = source.match(getterUse)?.length ?? 0;
        if (getterUses === 0 || uses !== getterUses + 1) continue;
        rewritten = rewritten
          .replace(declaration, '')
          .replace(getterUse, () => `return require(${JSON.stringify(spec)}).`);
      }
      if (rewritten === source)
        throw new Error(`${args.path}: lazy-barrels found nothing to rewrite (scripts/bundle.mjs)`);
      recordPatch('lazy-barrels', args.path);
      return { contents: `${LAZY_EXPORT_STAR_HELPER}${rewritten}`, loader: 'js' };
    });
  },
};

/**
 * Nest builds each route's request handler when it registers the route: the parameter,
 * pipe, guard, interceptor and exception-filter contexts of the handler, read from their
 * metadata (RouterExecutionContext.create and ExceptionsFilter.create, ~7 ms of every
 * start for this service's ~70 routes, most of which a given instance never serves).
 * Here the route is registered with a handler that builds the real one on the route's
 * first request, with the same arguments, and then calls it: the same handler, built
 * later. (Request-scoped controllers already build theirs per request.)
 */
const NEST_ROUTE_PROXY =
  /: this\.createCallbackProxy\(instance, targetCallback, methodName, moduleKey, requestMethod, STATIC_CONTEXT, instanceWrapper\.id\);\n/;
const NEST_ROUTE_PROXY_ON_FIRST_REQUEST = `
    createCallbackProxyOnFirstRequest(...args) {
        let proxy;
        return (req, res, next) => (proxy ??= this.createCallbackProxy(...args))(req, res, next);
    }
`;
const nestRouteHandlerOnFirstRequest = sourcePatch({
  name: 'nest-route-handler-on-first-request',
  filter: /[\\/]node_modules[\\/]@nestjs[\\/]core[\\/]router[\\/]router-explorer\.js$/,
  pattern: new RegExp(`${NEST_ROUTE_PROXY.source}[^]*\\n    createCallbackProxy\\(`),
  patch: (source) =>
    source
      .replace(
        NEST_ROUTE_PROXY,
        ': this.createCallbackProxyOnFirstRequest(instance, targetCallback, methodName, moduleKey, requestMethod, STATIC_CONTEXT, instanceWrapper.id);\n',
      )
      .replace(/\n {4}createCallbackProxy\(/, () => `${NEST_ROUTE_PROXY_ON_FIRST_REQUEST}    createCallbackProxy(`),
});

/**
 * TypeORM's DriverFactory requires every driver it knows (MySQL, SQL Server, Oracle, SAP,
 * Spanner, CockroachDB, MongoDB, the SQLite family…) at load time; this service only ever
 * opens `type: 'postgres'` (src/database/data-source-options.ts, PGlite included). The other
 * drivers, ~650 kB of the bundle, are replaced by a class that says so if it is ever built:
 * less to parse, evaluate and keep in memory at every start.
 */
const POSTGRES_DRIVER = './postgres/PostgresDriver';
const onlyPostgresDriver = {
  name: 'only-postgres-driver',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^\.\/[a-z0-9-]+\/[A-Za-z0-9]+Driver$/ }, (args) =>
      /[\\/]typeorm[\\/]driver[\\/]DriverFactory\.js$/.test(args.importer) && args.path !== POSTGRES_DRIVER
        ? { path: args.path, namespace: 'absent-typeorm-driver' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'absent-typeorm-driver' }, (args) => {
      const name = args.path.slice(args.path.lastIndexOf('/') + 1);
      return {
        contents: `exports.${name} = class ${name} { constructor() { throw new Error(${JSON.stringify(
          `${name} is not in this build (scripts/bundle.mjs): only the postgres driver is`,
        )}); } };`,
        loader: 'js',
      };
    });
  },
};

/**
 * Modules that some dependency require()s when it loads but calls only for features this
 * service may never use. Each is replaced, for that importer only, by a stand-in with the
 * same contract that loads the real module on first use; nothing changes for a use, and a
 * start without one never evaluates it.
 * - Fastify builds its schema compilers when the server is created: @fastify/ajv-compiler
 *   and @fastify/fast-json-stringify-compiler evaluate Ajv and fast-json-stringify (~350
 *   kB), though each is only called when a route with a JSON schema is registered. A
 *   `factory` stand-in returns a function that builds the real one on its first call.
 * - class-validator's IsPhoneNumber requires libphonenumber-js's metadata (~380 kB); this
 *   service validates no phone number. A `namespace` stand-in reads each property from the
 *   real module on access; the package is left to node_modules (RUNTIME_PACKAGES).
 * - Swagger UI's files are served by @fastify/static, registered at start: its glob (for
 *   `wildcard: false`, which Swagger does not set), @fastify/send's mime table and
 *   http-errors (read for the first file sent or refused), and @nestjs/swagger's js-yaml
 *   (for a YAML document, which this service does not serve) are loaded on first use. A
 *   `function` stand-in is a function calling the real one; `functions` exports the named
 *   ones so.
 * - Node's tls, https, http2, dns and zlib, for every importer: Fastify's server.js
 *   (https, http2, dns), Nest's nest-application.js (tls), @redis/client (tls) and
 *   prom-client's Pushgateway (zlib, https) require them when they load, but call them only
 *   for a TLS connection, an HTTP/2 server, a host name to resolve, compression. Loaded at
 *   start they cost ~20 ms of the server's start-up CPU on Node 26 and ~4 MiB of RSS at
 *   ready, most of it pages of the node binary (OpenSSL's TLS, the HTTP/2 core) that then
 *   stay resident (measured: README › Performance). test/start.e2e-spec.ts connects the
 *   server to Redis over TLS through them.
 * A `namespace` stand-in is an object whose prototype is a proxy reading from the real
 * module, so a CommonJS require, esbuild's namespace of an ES module's import (whose object
 * inherits from the stand-in's prototype) and `__importDefault` all see the module; a
 * built-in's stand-in answers `__esModule` (which no built-in module has) without loading
 * it. Functions are called with the stand-in as `this`, which Node's exported functions
 * don't read (mime's are bound to it); a property set on a stand-in stays on it, not on
 * the real module. One dependency sets one: @fastify/static sets `send.mime.default_type`
 * when it loads, and reads it back through the same object, as @fastify/send does (esbuild
 * makes one stand-in per module, shared by its importers), so they see it as before; no
 * other importer of mime is bundled.
 */
const LAZY_BUILTINS = ['tls', 'https', 'http2', 'dns', 'zlib'];
const LAZY_MODULES = [
  { module: '@fastify/ajv-compiler', importer: /[\\/]fastify[\\/]lib[\\/]schema-controller\.js$/, kind: 'factory' },
  {
    module: '@fastify/fast-json-stringify-compiler',
    importer: /[\\/]fastify[\\/]lib[\\/]schema-controller\.js$/,
    kind: 'factory',
  },
  { module: 'libphonenumber-js/max', importer: /[\\/]class-validator[\\/].*IsPhoneNumber\.js$/, kind: 'namespace' },
  { module: 'glob', importer: /[\\/]@fastify[\\/]static[\\/]index\.js$/, kind: 'functions', names: ['glob'] },
  { module: 'mime', importer: /[\\/]@fastify[\\/]send[\\/]/, kind: 'namespace' },
  { module: 'http-errors', importer: /[\\/]@fastify[\\/]send[\\/]lib[\\/]createHttpError\.js$/, kind: 'function' },
  { module: 'js-yaml', importer: /[\\/]@nestjs[\\/]swagger[\\/]dist[\\/]swagger-module\.js$/, kind: 'namespace' },
  ...LAZY_BUILTINS.map((module) => ({ module, importer: /./, kind: 'namespace' })),
];
const STAND_INS = {
  function: (real) => `module.exports = function lazyFunction(...args) {
  return require(${real}).apply(this, args);
};`,
  functions: (real, _builtin, names) =>
    names
      .map((name) => `exports.${name} = function (...args) { return require(${real}).${name}.apply(this, args); };`)
      .join('\n'),
  factory: (real) => `module.exports = function lazyFactory(...options) {
  let built;
  return function (...args) {
    built ??= require(${real})(...options);
    return built.apply(this, args);
  };
};`,
  namespace: (real, builtin) => `let loaded;
const load = () => (loaded ??= require(${real}));
module.exports = Object.create(
  new Proxy({}, {
    get: (_, key) => (${builtin ? "key === '__esModule' ? undefined : " : ''}load()[key]),
    has: (_, key) => key in load(),
  }),
);`,
};
const lazyModules = {
  name: 'lazy-modules',
  setup(pluginBuild) {
    const names = LAZY_MODULES.map(({ module }) => module.replace(/[/.]/g, '\\$&')).join('|');
    const filter = new RegExp(`^(node:)?(${names})$`);
    pluginBuild.onResolve({ filter }, (args) => {
      // A stand-in's own require() is the real module's.
      if (args.namespace === 'lazy-module') return undefined;
      const path = isBuiltin(args.path) ? args.path.replace(/^node:/, '') : args.path;
      const lazy = LAZY_MODULES.find(({ module, importer }) => module === path && importer.test(args.importer));
      return lazy
        ? { path, namespace: 'lazy-module', pluginData: { ...lazy, resolveDir: args.resolveDir } }
        : undefined;
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-module' }, async (args) => {
      const { kind, resolveDir, names } = args.pluginData;
      const builtin = isBuiltin(args.path);
      // A built-in by its node: name; bundled: the path esbuild resolves; external
      // (RUNTIME_PACKAGES): the name, for Node.
      const real = builtin
        ? `node:${args.path}`
        : await pluginBuild
            .resolve(args.path, { kind: 'require-call', resolveDir })
            .then((resolved) => (resolved.external ? args.path : resolved.path));
      return { contents: STAND_INS[kind](JSON.stringify(real), builtin, names), loader: 'js', resolveDir };
    });
  },
};

/**
 * @redis/client builds its client class (and its MULTI class) when the first client is
 * created, by assigning its ~740 command methods one by one to a new class's prototype.
 * V8 keeps a prototype in fast mode, where each new property copies the object's map and
 * descriptors: ~740 of them cost O(n²), ~50 ms of CPU at every start on Node 26 (measured,
 * cpu-prof: attachConfig) and much of the garbage collected before ready. Adding and
 * deleting two properties first (the first one added deleted first: deleting the last one
 * added only undoes it) puts the prototype in dictionary mode, where each method
 * is one hash insert (~2 ms); V8 makes it fast again when it is first used as a prototype,
 * so lookups are as before. The methods, their order and their attributes are unchanged.
 */
const REDIS_ATTACH_CONFIG =
  /(Class = class extends BaseClass \{\s*\};\n)(\s*for \(const \[name, command\] of Object\.entries\(commands\)\) \{)/;
// The loop that attaches each command, made to attach a method that builds the real one on
// its first call (see lazyRedisCommands below).
const REDIS_ATTACH_LOOP =
  /for \(const \[name, command\] of Object\.entries\(commands\)\) \{\n(\s*)if \(config\?\.RESP == 3 && command\.unstableResp3 && !config\.unstableResp3\) \{\n\s*Class\.prototype\[name\] = throwResp3SearchModuleUnstableError;\n\s*\}\n\s*else \{\n\s*Class\.prototype\[name\] = createCommand\(command, RESP\);\n\s*\}\n/;
const REDIS_LAZY_METHOD = `
function commandOnFirstCall(prototype, commands, name, createCommand, resp) {
    return function (...args) {
        const method = createCommand(commands[name], resp);
        prototype[name] = method;
        return method.apply(this, args);
    };
}
`;
const redisPrototypeInDictionaryMode = sourcePatch({
  name: 'redis-prototype-in-dictionary-mode',
  filter: /[\\/]node_modules[\\/]@redis[\\/]client[\\/]dist[\\/]lib[\\/]commander\.js$/,
  // Both, the class just before the loop: REDIS_ATTACH_CONFIG's second group is the loop's first line.
  pattern: new RegExp(
    `${REDIS_ATTACH_CONFIG.source.slice(0, REDIS_ATTACH_CONFIG.source.indexOf('(\\s*for'))}\\s*${REDIS_ATTACH_LOOP.source}`,
  ),
  patch: (source) =>
    source
      .replace(
        REDIS_ATTACH_CONFIG,
        '$1    Class.prototype.__dictionaryMode1 = 0;\n    Class.prototype.__dictionaryMode2 = 0;\n    delete Class.prototype.__dictionaryMode1;\n    delete Class.prototype.__dictionaryMode2;\n$2',
      )
      .replace(
        REDIS_ATTACH_LOOP,
        (_, indent) =>
          `for (const name of Object.keys(commands)) {\n` +
          `${indent}if (config?.RESP == 3 && commands[name].unstableResp3 && !config.unstableResp3) {\n` +
          `${indent}    Class.prototype[name] = throwResp3SearchModuleUnstableError;\n` +
          `${indent}}\n${indent}else {\n` +
          `${indent}    Class.prototype[name] = commandOnFirstCall(Class.prototype, commands, name, createCommand, RESP);\n` +
          `${indent}}\n`,
      )
      .concat(REDIS_LAZY_METHOD),
});

/**
 * @redis/client's command index requires all of its 423 command modules when it loads
 * (~750 kB of source evaluated at every start, for the ~15 commands this service sends)
 * and builds its table of ~740 names from them; its cluster table copies that table when
 * the index loads. Here each module is required when its command is first read from the
 * table: the table's entries are getters, the cluster table copies the getters (not what
 * they return) when it is first read (a cluster client is made), and each client's method
 * for a command (attachConfig above) builds the real method on the command's first call,
 * then replaces itself on the prototype. Names,
 * order and the commands themselves are unchanged; the legacy mode (which this service
 * does not use) still reads every command when a client is created.
 */
const REDIS_COMMAND_IMPORT = /^const ([\w$]+) = (__importDefault|__importStar)\(require\("(\.\/[A-Z0-9_-]+)"\)\);$/gm;
const REDIS_TABLE_ENTRY = /^( {4})([\w$]+): ([\w$]+)\(\)\.default,?$/gm;
const REDIS_NON_STICKY =
  /^const \{ ((?:[\w$]+: [\w$]+, )+)\.\.\.NON_STICKY_COMMANDS \} = index_1\.default;\nexports\.NON_STICKY_COMMANDS = NON_STICKY_COMMANDS;$/m;
const lazyRedisCommands = {
  name: 'lazy-redis-commands',
  setup(pluginBuild) {
    pluginBuild.onLoad(
      { filter: /[\\/]node_modules[\\/]@redis[\\/]client[\\/]dist[\\/]lib[\\/]commands[\\/]index\.js$/ },
      (args) => {
        const source = readFileSync(args.path, 'utf8');
        const names = [...source.matchAll(REDIS_COMMAND_IMPORT)].map(([, name]) => name);
        let text = source.replace(REDIS_COMMAND_IMPORT, 'const $1 = () => $2(require("$3"));');
        for (const name of names)
          text = text.replace(new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\.`, 'g'), `${name}().`);
        const entries = text.match(REDIS_TABLE_ENTRY)?.length ?? 0;
        text = text.replace(REDIS_TABLE_ENTRY, '$1get $2() { return $3().default; },');
        const nonSticky = REDIS_NON_STICKY.exec(text);
        if (names.length < 350 || entries < 700 || !nonSticky) {
          throw new Error(
            `${args.path}: lazy-redis-commands found ${names.length} imports, ${entries} entries, ${nonSticky ? 'the' : 'no'} cluster table (scripts/bundle.mjs)`,
          );
        }
        const sticky = nonSticky[1]
          .split(', ')
          .filter(Boolean)
          .map((pair) => pair.split(': ')[0]);
        text = text.replace(
          REDIS_NON_STICKY,
          () =>
            `let NON_STICKY_COMMANDS;\n` +
            `Object.defineProperty(exports, "NON_STICKY_COMMANDS", { enumerable: true, get() {\n` +
            `    if (NON_STICKY_COMMANDS === undefined) {\n` +
            `        NON_STICKY_COMMANDS = {};\n` +
            `        for (const name of Object.keys(index_1.default))\n` +
            `            if (!${JSON.stringify(sticky)}.includes(name))\n` +
            `                Object.defineProperty(NON_STICKY_COMMANDS, name, Object.getOwnPropertyDescriptor(index_1.default, name));\n` +
            `    }\n` +
            `    return NON_STICKY_COMMANDS;\n` +
            `} });`,
        );
        recordPatch('lazy-redis-commands', args.path);
        return { contents: text, loader: 'js' };
      },
    );
  },
};

/**
 * esbuild's __toESM, which an ES module's import of a CommonJS module (or of a Node
 * built-in: builtinsByRequire) goes through, made once per module instead of once per
 * import. It copies every export of the module onto a new namespace object as a getter,
 * at each importing module: 187 imports of 45 modules defined 11,734 getters at every
 * start (class-validator's 342 exports 12 times, rxjs's 174 13 times, node:crypto's 77 25
 * times), where the 45 modules have 1,557, and the copies kept ~1.5 MB of the heap alive
 * (V8's sampling heap profiler at ready). A module imported again gets the namespace made
 * the first time, as an ES module's importers all get the same one, unless its exports
 * changed since in number (a CommonJS module imported while it is still loading, in a
 * require cycle, has fewer): then a new one is made, as before. Namespaces are only read
 * (esbuild's code never writes to one).
 */
// `var __toESM=(mod,isNodeMode,target)=>(target=mod!=null?__create(__getProtoOf(mod)):{},
// __copyProps(isNodeMode||!mod||!mod.__esModule?__defProp(target,"default",{value:mod,
// enumerable:!0}):target,mod))`, whatever its names.
const TO_ESM_HELPER =
  /([\w$]+)=\(([\w$]+),([\w$]+),([\w$]+)\)=>\(\4=\2!=null\?([\w$]+)\(([\w$]+)\(\2\)\):\{\},([\w$]+)\(\3\|\|!\2\|\|!\2\.__esModule\?([\w$]+)\(\4,"default",\{value:\2,enumerable:!0\}\):\4,\2\)\)/g;

function sharedToESM(text, name) {
  const helpers = [...text.matchAll(TO_ESM_HELPER)];
  if (helpers.length > 1 || (name === 'server' && helpers.length === 0) || text.includes('__esmNamespaces')) {
    throw new Error(`dist/${name}: esbuild's __toESM helper changed; update TO_ESM_HELPER (scripts/bundle.mjs)`);
  }
  if (helpers.length === 0) return text;
  const [helper, helperName, mod, nodeMode, target, create, getProto, copyProps, defineProperty] = helpers[0];
  // What it did (for null and primitives, it still does).
  const original = helper.slice(helper.indexOf('=>') + 2);
  const build = `${target}=${create}(${getProto}(${mod})),${copyProps}(${nodeMode}||!${mod}.__esModule?${defineProperty}(${target},"default",{value:${mod},enumerable:!0}):${target},${mod})`;
  return text.replace(
    helper,
    () =>
      `${helperName}=(${mod},${nodeMode},${target})=>{if(${mod}==null||typeof ${mod}!="object"&&typeof ${mod}!="function")return ${original};` +
      `let __esmCache=__esmNamespaces[${nodeMode}?1:0],__esmCount=Object.getOwnPropertyNames(${mod}).length,__esmMade=__esmCache.get(${mod});` +
      `return __esmMade!==void 0&&__esmMade.count===__esmCount?__esmMade.namespace:(${build},__esmCache.set(${mod},{namespace:${target},count:__esmCount}),${target})},__esmNamespaces=[new WeakMap,new WeakMap]`,
  );
}

/**
 * esbuild's __copyProps (under __toESM and __toCommonJS) reads each property's descriptor
 * only for its `enumerable` flag. On Node 26 reading the descriptor of a lazily loaded
 * property of a built-in module loads it: the copy of `node:util` loaded parse_args,
 * internal/util/diff, trace_sigint, locks and internal/file (7 modules no start needs).
 * `propertyIsEnumerable` answers the same without reading the value.
 */
// `enumerable:!(desc=__getOwnPropDesc(from,key))||desc.enumerable`, whatever its names.
const COPY_PROPS_ENUMERABLE = /enumerable: ?!\(([\w$]+) ?= ?[\w$]+\(([\w$]+), ?([\w$]+)\)\) ?\|\| ?\1\.enumerable ?\}/g;
function enumerableWithoutDescriptor(text, name) {
  const found = text.match(COPY_PROPS_ENUMERABLE)?.length ?? 0;
  if (name === 'server' && found === 0) {
    throw new Error(`dist/${name}: esbuild's __copyProps changed; update COPY_PROPS_ENUMERABLE (scripts/bundle.mjs)`);
  }
  return text.replace(
    COPY_PROPS_ENUMERABLE,
    (_, _desc, from, key) => `enumerable:Object.prototype.propertyIsEnumerable.call(${from},${key})}`,
  );
}

// esbuild leaves non-ASCII characters inside regular expression literals (validator's
// alphabets). One such character makes V8 hold the whole source as a two-byte string,
// twice the memory: escape them before writing. \uXXXX means the same code unit in a
// string, template, identifier or regular expression.
const ascii = (text) => text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * esbuild's keepNames helper, made cheap where it changes nothing that is read. keepNames
 * wraps every named function and class in `__name(fn, "name")`, which redefines `name`
 * with Object.defineProperty each time the function is created: closures made on every
 * request (rxjs operators, Nest's switchToHttp, pg's array parser, Fastify's hook runners)
 * paid ~5-8% of an uncached read's CPU for it (measured, cpu-prof). The helper now leaves
 *  - a function already called `name` (a declaration: `function next() {}`), and
 *  - an anonymous function that is no class: an arrow function or method (no prototype),
 *    or a function expression whose name starts with a lower-case letter (`parse:
 *    function () {}`): nothing here reads a closure's name (a stack trace may show it
 *    as anonymous),
 * and still names classes and the functions esbuild renamed (Nest and Swagger read class names).
 * With minifyIdentifiers a declaration carries its short name, so it is still named when it
 * is made (Fastify's hook runner makes three named closures a hook); leaving every
 * lower-case name alone as well measured the same (891 vs 897 µs an uncached list, 6
 * alternated rounds), so those keep their names. The helper is matched whatever esbuild
 * calls it: matched by its unminified name, it went unpatched once identifiers were
 * minified, at 13% more CPU an uncached list (759 vs 911 µs, 6 alternated rounds).
 */
// The helper as esbuild writes it, whatever its names (minifyIdentifiers renames it):
// `var __name=(target,value)=>__defProp(target,"name",{value,configurable:!0})`.
const KEEP_NAMES_HELPER =
  /var ([\w$]+)=\(([\w$]+),([\w$]+)\)=>([\w$]+)\(\2,"name",\{value(?::\3)?,configurable:!0\}\)/g;
// Any helper of esbuild's that defines a function's name: what the build must have found.
const NAMING = /\(([\w$]+),"name",\{value(?::[\w$]+)?,configurable:!0\}\)/g;

function cheapKeepNames(text, name) {
  const helpers = [...text.matchAll(KEEP_NAMES_HELPER)];
  const naming = [...text.matchAll(NAMING)];
  // One helper a bundle, and nothing else naming functions that way: else esbuild's
  // output changed and the helper would silently stay the costly one.
  if (helpers.length > 1 || naming.length !== helpers.length) {
    throw new Error(`dist/${name}.js: esbuild's __name helper changed; update KEEP_NAMES_HELPER (scripts/bundle.mjs)`);
  }
  if (helpers.length === 0) return text;
  const [helper, helperName, fn, value, defineProperty] = helpers[0];
  const lowerCase = `${value}.charCodeAt(0)>96&&${value}.charCodeAt(0)<123`;
  // A function, not a string: `$` in a minified name is no replacement pattern.
  return text.replace(
    helper,
    () =>
      `var ${helperName}=(${fn},${value})=>${fn}.name===${value}||${fn}.name===""&&(${lowerCase}||${fn}.prototype===void 0)?${fn}:${defineProperty}(${fn},"name",{value:${value},configurable:!0})`,
  );
}

// Separate bundles, not one build with shared chunks: across a chunk boundary esbuild
// turns `import('a CommonJS package')` into a namespace with only `default`, and Nest's
// ValidationPipe loads class-transformer that way.
// dist/server.cjs is the server (src/main.ts and all it imports), as CommonJS: dist/main.js
// (src/launcher.ts, built after it with the bundle's hash) compiles it with node:vm, whose
// code cache, made once the server is ready, holds every function a start runs; Node's
// compile cache for an ES module holds only its top level (README, Performance).
// dist/tracing.js is OpenTelemetry's SDK and exporter, which the server imports only
// when OTEL_EXPORTER_OTLP_ENDPOINT is set (src/tracing/load.ts): without it, none of it is
// read, compiled or kept in memory. The PDF text worker is a bundle of its own (pdf.js
// included), beside dist/main.js where src/pdf-text/pdf-extractor.ts looks for it; the
// server loads none of it until a PDF's text is extracted.
// dist/server.cjs is written already wrapped in the function Node gives a CommonJS module
// (dist/main.js calls it with the same arguments): compiled as read, V8 keeps the string
// dist/main.js made, where a wrapper added at run time made a second string V8 had to
// flatten into a third copy, 4.3 MB written to freshly touched memory at every start
// (README, Performance: "Start-up, tenth pass"). Run on its own, the file does nothing.
const SERVER_WRAPPER_START =
  '/* ultrai-core: the server, run by dist/main.js (src/launcher.ts) */(function (exports, require, module, __filename, __dirname) {';
const SERVER_WRAPPER_END = '\n})';
const ESM_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";
const ENTRIES = [
  { name: 'server', entry: 'src/main.js', format: 'cjs', outfile: 'server.cjs' },
  { name: 'main', entry: 'src/launcher.js' },
  { name: 'cli', entry: 'src/cli.js' },
  { name: 'tracing', entry: 'src/tracing.js' },
  { name: 'pdf-text.worker', entry: 'src/pdf-text/pdf-text.worker.js' },
];
/** How many files each patch rewrites in dist/server.cjs (see patchedFiles). */
const SERVER_PATCHES = {
  'lazy-nest-date-format': 2,
  'lazy-pushgateway-gzip': 1,
  'redis-prototype-in-dictionary-mode': 1,
  'lazy-redis-commands': 1,
  'lazy-router-prefix-match': 1,
  'lazy-router-handler-functions': 1,
  'jwt-features-from-engines': 3,
  'static-cpu-count': 1,
  'pino-caller-for-transport-only': 1,
  'lazy-barrels': 3,
  'nest-route-handler-on-first-request': 1,
};
let serverBundleId;
for (const { name, entry, format = 'esm', outfile = `${name}.js` } of ENTRIES) {
  const rewritten = [];
  patchedFiles.clear();
  const { outputFiles } = await build({
    plugins: [
      bundleCreateRequire(rewritten),
      lazyNestDateFormat,
      lazyPushgatewayGzip,
      // Before builtinsByRequire, which would otherwise take an ES module's import of a built-in.
      lazyModules,
      builtinsByRequire,
      onlyPostgresDriver,
      redisPrototypeInDictionaryMode,
      lazyRedisCommands,
      lazyRouterPrefixMatch,
      lazyRouterHandlerFunctions,
      jwtFeaturesFromEngines,
      staticCpuCount,
      pinoCallerForTransportOnly,
      lazyBarrels,
      nestRouteHandlerOnFirstRequest,
    ],
    entryPoints: [`${dist}${entry}`],
    outfile: `${dist}${outfile}`,
    write: false,
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    // Nest and Swagger read class names (schema names, log contexts): keep them.
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    // Local names shortened (functions and classes keep theirs: keepNames). V8 keeps the
    // whole source of the bundle in memory: 4.3 MB instead of 6.5 for dist/server.cjs, RSS
    // at ready 115 -> 110 MiB, start-up CPU unchanged (bench/startup-cpu.mjs, 9 starts each).
    minifyIdentifiers: true,
    legalComments: 'none',
    charset: 'ascii',
    logLevel: 'warning',
    external: [...RUNTIME_PACKAGES, ...ABSENT_PACKAGES].flatMap((pkg) => [pkg, `${pkg}/*`]),
    // In CommonJS, import.meta.url is the file's URL, as it was in an ES module beside it.
    define: {
      ...(format === 'cjs' ? { 'import.meta.url': '__importMetaUrl' } : {}),
      ...(serverBundleId ? { SERVER_BUNDLE_ID: JSON.stringify(serverBundleId) } : {}),
    },
    // CommonJS dependencies call require() for Node's built-in modules (an ES module makes its own).
    // The CommonJS bundle stays strict code, as the ES modules it is made of were: the banner
    // goes before esbuild's "use strict", so it starts with one itself.
    banner: {
      js:
        format === 'cjs'
          ? "'use strict'; var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;"
          : ESM_BANNER,
    },
  });
  if (rewritten.length !== EXPECTED_REWRITES[name]) {
    throw new Error(
      `dist/${outfile}: ${rewritten.length} Nest files rewritten, ${EXPECTED_REWRITES[name]} expected (scripts/bundle.mjs):\n  ${rewritten.sort().join('\n  ')}`,
    );
  }
  const misses = Object.entries(name === 'server' ? SERVER_PATCHES : {})
    .map(([patch, expected]) => [patch, expected, patchedFiles.get(patch)?.length ?? 0])
    .filter(([, expected, found]) => found !== expected);
  if (misses.length > 0) {
    throw new Error(
      `dist/${outfile}: ${misses.map(([patch, expected, found]) => `${patch} rewrote ${found} files, ${expected} expected`).join('; ')} (scripts/bundle.mjs)`,
    );
  }
  for (const file of outputFiles) {
    const body = ascii(enumerableWithoutDescriptor(sharedToESM(cheapKeepNames(file.text, name), name), name));
    const text = name === 'server' ? `${SERVER_WRAPPER_START}${body}${SERVER_WRAPPER_END}` : body;
    if (name === 'server') serverBundleId = createHash('sha256').update(text).digest('hex').slice(0, 16);
    writeFileSync(file.path, text);
  }
}
