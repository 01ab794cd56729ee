#!/bin/sh
# Brings node_modules and dist/ up to date: `npm ci` when node_modules is missing or older than
# package-lock.json (unless it is a symlink); a fresh product build (dist/ emptied, then
# tsconfig.build.json: no tests, test helpers or benchmarks) when any TypeScript source or tsconfig
# is newer than the last build. Used by scripts/serve.sh, packaging/plugin/build.sh, `npm run bench` and the vitest global setup
# (testing/build-setup.ts); idempotent and quiet when nothing is stale. With --tools, brings the test
# tools in build/tools/ (tsconfig.tools.json: benches, the leak check, helpers that tests run as their
# own process, e.g. names' fake upstream resolver) up to date the same way.
set -eu
cd "$(dirname "$0")/.."
# A symlinked node_modules is another checkout's (a git worktree sharing one install): `npm ci` here
# would empty the folder it points to, under every checkout that shares it, and it is never run.
[ -L node_modules ] || { [ -d node_modules ] && [ node_modules -nt package-lock.json ]; } || npm ci --no-audit --no-fund
# stale STAMP: true when STAMP is missing or a TypeScript source or tsconfig is newer than it.
stale() {
  [ ! -f "$1" ] || [ -n "$(find . \( -name '*.ts' -o -name 'tsconfig*.json' \) -not -path './node_modules/*' -not -path './dist/*' -not -path './build/*' -newer "$1" | head -n 1)" ]
}
if stale dist/cli/tsnet.js; then
  rm -rf dist
  node_modules/.bin/tsc -p tsconfig.build.json
fi
if [ "${1:-}" = --tools ] && stale build/tools/testing/leak-check-cli.js; then
  node_modules/.bin/tsc -p tsconfig.tools.json
fi
