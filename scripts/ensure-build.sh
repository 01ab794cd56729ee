#!/bin/sh
# Brings node_modules and dist/ up to date: `npm ci` when node_modules is missing or older than
# package-lock.json, `tsc` when any TypeScript source is newer than the last build. Used by
# scripts/serve.sh and packaging/plugin/build.sh; idempotent and quiet when nothing is stale.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund
if [ ! -f dist/cli/tsnet.js ] || [ -n "$(find . -name '*.ts' -not -path './node_modules/*' -not -path './dist/*' -not -path './build/*' -newer dist/cli/tsnet.js | head -n 1)" ]; then
  npx tsc -p .
fi
