#!/bin/sh
# `npm test [-- VITEST_ARGS…]`: type-check and build, run all vitest projects (unit, root, integration),
# then ALWAYS the leak check, which removes whatever the tests left on the host. The last line is
# `N passed, N failed, N skipped`. Exits non-zero if the build, a test or the leak check failed.
set -u
cd "$(dirname "$0")/.." || exit 2

# What the tests use: systemd for `systemd-analyze verify` of the service unit, chromium for the
# topology page, gcc and libc6-dev for a static syscall helper, docker-registry for the managed plugin's
# upgrade, procps; the integration setup also starts dockerd if none answers.
sh scripts/ensure-packages.sh docker.io busybox-static iptables nftables iproute2 util-linux mount e2fsprogs tar perl-base etcd-server iperf3 systemd chromium gcc libc6-dev procps docker-registry || exit 2
[ -d node_modules ] && [ node_modules -nt package-lock.json ] || npm ci --no-audit --no-fund || exit 2

if ! npx tsc -p .; then
  echo "build failed (npx tsc -p .); no tests were run"
  exit 1
fi

# Not /tmp/tstest-*: the leak check removes those.
results=$(mktemp /tmp/tsnet-vitest-XXXXXX.json)
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
vitest_rc=$?

node dist/integration/support/leak-check-cli.js
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
