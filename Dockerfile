# syntax=docker/dockerfile:1
# ultrai-core: multi-stage build, production dependencies only, non-root.

FROM node:26-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.mjs scripts/externals.mjs scripts/warm-compile-cache.mjs scripts/free-port.mjs ./scripts/
COPY migrations ./migrations
COPY src ./src
# The bundles are all the image runs: the per-file output they were made from stays here.
RUN npm run build && rm -rf dist/src dist/migrations
# V8's compile cache for the bundle, filled by one start on the embedded database with the
# final stage's V8 flags (NODE_OPTIONS: the cache is kept per Node version and flags) and
# path (/app/dist/main.js): a start then reuses the compiled code instead of compiling ~6 MB
# of JavaScript again, which counts on a fraction of a CPU (README, Performance). It holds
# Node's own cache and, written by dist/main.js once the server has answered its first
# request (the warm-up's readiness check), the code cache of every function the server's
# start and that answer ran (dist/server.cjs; src/launcher.ts).
RUN NODE_COMPILE_CACHE=/app/.compile-cache NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8 --v8-pool-size=2" \
    node scripts/warm-compile-cache.mjs

FROM node:26-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/externals.mjs scripts/prune-runtime-modules.mjs ./scripts/
# dist/main.js and dist/cli.js carry their dependencies (scripts/bundle.mjs): node_modules
# keeps only what they load from it at run time (argon2's addon, Swagger UI's assets) and
# what those need. Source maps and declarations are never read.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force \
 && node scripts/prune-runtime-modules.mjs \
 && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

FROM node:26-trixie-slim
# Memory and CPU on a 512 MB instance, measured by `npm run bench` (which starts the
# server with these same variables; README, Performance):
# - MALLOC_ARENA_MAX: fewer malloc arenas for the threads argon2 hashes on;
# - MALLOC_MMAP_THRESHOLD_: a fixed threshold, so each hash's 7 MiB block is mapped and
#   returned to the system when freed (glibc's moving threshold would keep them);
# - GLIBC_TUNABLES hugetlb=1: those blocks in transparent huge pages where the host
#   allows it (madvise), which saves most of the page faults of mapping them each time;
# - UV_THREADPOOL_SIZE: two concurrent hashes, not four, on a fraction of a CPU;
# - --max-old-space-size: the live heap is ~30 MiB; 128 MiB bounds how far V8 lets
#   garbage pile up under load (peak RSS ~155 MiB instead of ~260). Raise it here if a
#   deployment ever needs more.
# - --max-semi-space-size=8: the young generation stops at 2 x 8 MiB instead of the
#   2 x 16 MiB that start-up alone grows it to on Node 26 (peak RSS under the benchmark's
#   load ~210 -> ~170 MiB); 4 saved ~10 MiB more but cost ~20% more CPU per uncached
#   request in garbage collection.
# - --v8-pool-size=2: two V8 worker threads (parallel scavenges, concurrent marking and
#   compiling) instead of Node's default four, whatever the host's core count: on a
#   fraction of a CPU the extra threads only share the same quota. Measured: cold start at
#   0.1 CPU 9.3 -> 8.2 s, uncached GET /documents 13-16% less CPU per request (README).
#   `npm start` passes the same three flags.
# A fourth V8 flag, --no-allocation-site-pretenuring, is one Node refuses in NODE_OPTIONS:
# the server sets it itself once it has answered its first request
# (src/lifecycle/code-cache.ts), wherever it runs.
ENV NODE_ENV=production \
    PORT=3000 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    UV_THREADPOOL_SIZE=2 \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8 --v8-pool-size=2" \
    NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Owned by the user the server runs as, so Node may also add to it (code compiled later).
COPY --from=build --chown=node:node /app/.compile-cache ./.compile-cache
COPY package.json ./
USER node
EXPOSE 3000
# Liveness only: readiness (the database) is Render's health check, /health/ready.
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1 and handles SIGTERM (drain, close, exit 0).
CMD ["node", "dist/main.js"]
