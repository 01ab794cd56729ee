#!/bin/sh
# The managed plugin's entrypoint (/usr/local/bin/tsnet-plugin in its rootfs). dockerd's default
# container spec mounts /proc/sys and /sys read-only, and the bridge mode writes both in the host's
# network namespace, which the plugin shares: per-bridge sysctls (route_localnet, forwarding) and
# bridge-port flags (brport/hairpin_mode). With CAP_SYS_ADMIN the read-only bind over /proc/sys is
# removed and /sys is remounted read-write. Then `tsnet serve` takes its settings from the TSNET_*
# environment (`docker plugin set tsnet TSNET_LOG_LEVEL=debug`) and serves every plugin on the one
# socket dockerd dials, /run/docker/plugins/tsnet.sock.
set -eu
umount /proc/sys 2>/dev/null || true
mount -o remount,rw /sys 2>/dev/null || true
if [ ! -w /proc/sys/net/ipv4/ip_forward ] || [ ! -w /sys/class/net/lo/mtu ]; then
  echo "tsnet-plugin: /proc/sys or /sys is read-only and could not be made writable (needs CAP_SYS_ADMIN)" >&2
  exit 1
fi
exec /usr/bin/node /opt/tsnet/dist/cli/tsnet.js serve --socket tsnet.sock "$@"
