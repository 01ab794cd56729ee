#!/bin/sh
# `npm test [-- VITEST_ARGS…]`: type-check everything, build the product into dist/ (no test code:
# tsconfig.build.json) and the test tools into build/tools/, run all vitest projects (unit, root,
# integration; vitest runs the .ts tests, which start the built plugins), then ALWAYS the leak check,
# which removes whatever the tests left on the host. The last line is
# `N passed, N failed, N skipped`. Exits non-zero if the build, a test or the leak check failed.
set -u
cd "$(dirname "$0")/.." || exit 2

# What the tests use: systemd for `systemd-analyze verify` of the service unit, chromium for the
# topology page, gcc and libc6-dev for a static syscall helper, docker-registry for the managed plugin's
# upgrade, procps; the integration setup also starts dockerd if none answers.
sh scripts/ensure-packages.sh docker.io busybox-static iptables nftables iproute2 util-linux mount e2fsprogs tar perl-base etcd-server openssl iperf3 systemd chromium gcc libc6-dev procps docker-registry || exit 2
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund || exit 2

if ! { npx tsc -p . && npm run -s build && npx tsc -p tsconfig.tools.json; }; then
  echo "type-check or build failed (tsconfig.json, tsconfig.build.json, tsconfig.tools.json); no tests were run"
  exit 1
fi

# Not /tmp/tstest-*: the leak check removes those.
results=$(mktemp /tmp/tsnet-vitest-XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
vitest_rc=$?

node build/tools/testing/leak-check-cli.js
leak_rc=$?

node -e '
  const fs = require("node:fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("vitest wrote no results"); }
  const n = (k) => r[k] ?? 0;
  console.log(`${n("numPassedTests")} passed, ${n("numFailedTests")} failed, ${n("numPendingTests") + n("numTodoTests")} skipped`);
' "$results"
rm -f "$results"

[ "$vitest_rc" -eq 0 ] && [ "$leak_rc" -eq 0 ]
