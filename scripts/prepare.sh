#!/bin/sh
# npm's `prepare` (run by `npm install`/`npm ci` here, by `npm install -g <this folder>` and by `npm pack`):
# builds dist/ afresh from the TypeScript sources, without tests, test helpers and benchmarks
# (tsconfig.build.json, as every build of dist/ is; tests and benches never go there).
# `npm install -g <folder>` links the folder and installs none of its dependencies, so they are
# installed here first when missing (dev ones too: tsc is one). --ignore-scripts keeps that inner
# install from running this script again; --global=false and --prefix keep it in this folder when the
# outer command was global. A tarball from `npm pack` already holds dist/ and is never built where it
# is installed.
set -eu
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/tsc ] || npm ci --global=false --prefix "$PWD" --ignore-scripts --no-audit --no-fund
rm -rf dist
node_modules/.bin/tsc -p tsconfig.build.json
