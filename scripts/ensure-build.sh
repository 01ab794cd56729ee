#!/bin/sh
# Brings node_modules and dist/ up to date: `npm ci` when node_modules is missing or older than
# package-lock.json; a fresh product build (dist/ emptied, then tsconfig.build.json: no tests, test
# helpers or benchmarks) when any TypeScript source or tsconfig is newer than the last build. Used by
# scripts/serve.sh, packaging/plugin/build.sh, `npm run bench` and the vitest global setup
# (testing/build-setup.ts); idempotent and quiet when nothing is stale.
set -eu
cd "$(dirname "$0")/.."
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund
if [ ! -f dist/cli/tsnet.js ] || [ -n "$(find . \( -name '*.ts' -o -name 'tsconfig*.json' \) -not -path './node_modules/*' -not -path './dist/*' -not -path './build/*' -newer dist/cli/tsnet.js | head -n 1)" ]; then
  rm -rf dist
  node_modules/.bin/tsc -p tsconfig.build.json
fi
