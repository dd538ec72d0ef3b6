#!/usr/bin/env bash
# npm run test:browser: Swagger UI end to end in Debian's Chromium (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null
fi
[ -f dist/main.js ] || npm run build
node test/browser/swagger-ui.mjs
