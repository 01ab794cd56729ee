#!/bin/sh
# `npm run plugin -- [--name NAME[:TAG]] [--host unix://…] [--dir DIR] [--no-create]`
#
# Builds the Docker managed plugin of the whole suite from THIS host's files, offline: a plugin
# directory DIR (default build/plugin) holding packaging/plugin/config.json and a rootfs with
#   - /usr/bin/node and its shared libraries (ldd closure),
#   - /opt/tsnet: package.json, dist/ without tests, integration helpers and benchmarks, and the
#     production node_modules (`npm ci --omit=dev` in a staging dir, cached per package-lock.json),
#   - every program the suite runs (common/kernel and the drivers) with its ldd closure and data
#     files: iproute2 (ip, bridge), nft, iptables/ip6tables (nft variant, its xtables modules),
#     mount, umount, losetup, mkfs.ext4, resize2fs, dumpe2fs, tar, cp, du, sysctl, and sh for the
#     entrypoint (packaging/plugin/entrypoint.sh);
# then runs `docker [-H HOST] plugin create NAME DIR` (default name tsnet) unless --no-create.
# Reproducible: files are copied in sorted order, owned by root, with mtimes set to the last commit's
# time (SOURCE_DATE_EPOCH when set). Prints the build time and the rootfs size.
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)

NAME=tsnet
HOST=""
DIR=build/plugin
CREATE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --name) NAME=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --no-create) CREATE=0; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument \"$1\" (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (the rootfs must be owned by root)" >&2; exit 1; }

start=$(date +%s%N)
sh scripts/ensure-build.sh
ROOT=$DIR/rootfs
rm -rf "$DIR"
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)

# Programs the suite spawns (grep common/kernel, volume-driver/tar-stream.ts) plus sh for the entrypoint.
TOOLS="sh node ip bridge nft iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore
mount umount losetup mkfs.ext4 resize2fs dumpe2fs tar cp du sysctl"
# Data files those programs read.
DATA="/etc/iproute2 /etc/mke2fs.conf /etc/protocols /etc/services /etc/ethertypes"
XTABLES=/usr/lib/x86_64-linux-gnu/xtables

# Copies host path $1 to the same path in the rootfs: the file itself at its resolved path, and, when
# $1 is reached through symlinks (Debian's alternatives, /sbin → usr/sbin), a symlink named like $1.
copy_in() {
  real=$(readlink -f "$1")
  name="$(readlink -f "$(dirname "$1")")/$(basename "$1")"
  if [ ! -e "$ROOT$real" ]; then
    mkdir -p "$ROOT$(dirname "$real")"
    cp -p "$real" "$ROOT$real"
  fi
  if [ "$name" != "$real" ] && [ ! -e "$ROOT$name" ]; then
    mkdir -p "$ROOT$(dirname "$name")"
    ln -s "$real" "$ROOT$name"
  fi
}

# The shared libraries of ELF file $1 (ldd's resolved paths and the dynamic loader).
libs_of() {
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

# Debian 12 has merged /usr: keep the same top-level links so ldd's /lib/… paths resolve.
mkdir -p "$ROOT/usr/bin" "$ROOT/usr/sbin" "$ROOT/usr/lib" "$ROOT/usr/lib64"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOT/$d"; done
mkdir -p "$ROOT/etc" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev" "$ROOT/run/docker/plugins" "$ROOT/tmp" \
  "$ROOT/var/lib/tsnet" "$ROOT/mnt/tsvol" "$ROOT/opt/tsnet" "$ROOT/usr/local/bin"
chmod 1777 "$ROOT/tmp"

elves=$(mktemp)
trap 'rm -f "$elves"' EXIT
for t in $TOOLS; do
  p=$(command -v "$t") || { echo "build.sh: \"$t\" is not installed (sh scripts/ensure-packages.sh iproute2 iptables nftables util-linux mount e2fsprogs tar procps)" >&2; exit 1; }
  echo "$p" >>"$elves"
done
find "$XTABLES" -name '*.so' >>"$elves"
for f in $(sort -u "$elves"); do
  copy_in "$f"
  for lib in $(libs_of "$f"); do echo "$lib"; done
done | sort -u | while read -r lib; do copy_in "$lib"; done
for d in $DATA; do
  [ -e "$d" ] || continue
  mkdir -p "$ROOT$(dirname "$d")"
  cp -a "$d" "$ROOT$d"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
install -m 0755 packaging/plugin/entrypoint.sh "$ROOT/usr/local/bin/tsnet-plugin"

# The suite: production dependencies, staged once per package-lock.json.
lock=$(sha256sum package-lock.json | cut -c1-16)
STAGE=build/cache/modules-$lock
if [ ! -d "$STAGE/node_modules" ]; then
  rm -rf build/cache && mkdir -p "$STAGE"
  cp package.json package-lock.json "$STAGE/"
  (cd "$STAGE" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
fi
cp package.json "$ROOT/opt/tsnet/"
cp -a "$STAGE/node_modules" "$ROOT/opt/tsnet/"
# Native add-ons ship prebuilt binaries for every platform; keep this one's.
find "$ROOT/opt/tsnet/node_modules" -path '*/prebuilds/*' -prune -type d -not -name "linux-$(node -p process.arch)*" -exec rm -rf {} +
# dist/ holds product code only (tsconfig.build.json).
(cd dist && find . -type f -name '*.js' | sort | tar -cf - --no-recursion -T -) | tar -xf - -C "$ROOT/opt/tsnet" --one-top-level=dist

cp packaging/plugin/config.json "$DIR/config.json"
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)}
chown -R -h 0:0 "$DIR"
find "$DIR" -depth -exec touch -h -d "@$epoch" {} +

size=$(du -sb "$ROOT" | cut -f1)
secs=$(( ($(date +%s%N) - start) / 1000000 ))
echo "plugin directory $DIR: rootfs $((size / 1048576)) MiB, built in $secs ms"
if [ "$CREATE" -eq 1 ]; then
  docker ${HOST:+-H "$HOST"} plugin create "$NAME" "$DIR"
  echo "created plugin $NAME in $(( ($(date +%s%N) - start) / 1000000 )) ms; next: docker ${HOST:+-H $HOST }plugin enable $NAME"
fi
