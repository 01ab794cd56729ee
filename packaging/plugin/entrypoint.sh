#!/bin/sh
# The managed plugin's entrypoint (/usr/local/bin/tsnet-plugin in its rootfs). dockerd's default
# container spec mounts /proc/sys read-only, and the bridge mode sets per-bridge sysctls
# (route_localnet, forwarding) in the host's network namespace, which the plugin shares: that
# read-only bind is removed first (CAP_SYS_ADMIN). Then `tsnet serve` takes its settings from the
# TSNET_* environment (`docker plugin set tsnet TSNET_LOG_LEVEL=debug`) and serves every plugin on
# the one socket dockerd dials, /run/docker/plugins/tsnet.sock.
set -eu
umount /proc/sys 2>/dev/null || true
if [ ! -w /proc/sys/net/ipv4/ip_forward ]; then
  echo "tsnet-plugin: /proc/sys is read-only and could not be made writable (needs CAP_SYS_ADMIN)" >&2
  exit 1
fi
exec /usr/bin/node /opt/tsnet/dist/cli/tsnet.js serve --socket tsnet.sock "$@"
