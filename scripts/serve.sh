#!/bin/sh
# The README's first command: take a fresh machine to a serving suite. Installs the Debian packages the
# plugins use (only the missing ones), the Node dependencies and the build when they are missing or
# stale, then replaces itself with `tsnet serve` (defaults: sockets in /run/docker/plugins, state in
# /var/lib/tsnet). Extra arguments go to `tsnet serve`, e.g. `sh scripts/serve.sh --only network`.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "tsnet serve manages interfaces, firewall rules and mounts: run it as root (sudo sh scripts/serve.sh)" >&2
  exit 1
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "Node >= 20 is required (found $(node --version 2>&1))" >&2; exit 1; }

sh scripts/ensure-packages.sh iproute2 iptables nftables util-linux mount e2fsprogs tar

sh scripts/ensure-build.sh
exec node dist/cli/tsnet.js serve "$@"
