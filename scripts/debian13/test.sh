#!/usr/bin/env bash
# make test-debian13: run `make install` and the tests on Debian 13 (trixie: QGIS 3.40, Python 3.13, numpy 2,
# GDAL 3.10) in a chroot, as a user of that release would. Needs root and Debian's package registry (debootstrap is
# installed from it when missing).
#
# Cache (git-ignored, DEBIAN13_CACHE, default .debian13/ in the checkout): rootfs/ is built with debootstrap only when
# missing (with Debian's QGIS and apt's downloads once `make install` has run in it); the checkout is copied to
# rootfs/src/sar_coastline on every run, keeping what `make install` made there (.venv with torch, .stamps, the QGIS
# profile), so a second run downloads nothing. Remove the folder to start afresh.
# DEBIAN13_TARGETS: the make targets run in the chroot (default: test, i.e. install, lint and the whole suite);
# PYTEST_ARGS: passed on to pytest there (for example "tests/qgis").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${DEBIAN13_CACHE:-$ROOT/.debian13}
ROOTFS=$CACHE/rootfs
MIRROR=${DEBIAN13_MIRROR:-http://deb.debian.org/debian}
TARGETS=${DEBIAN13_TARGETS:-test}
SRC=/src/sar_coastline
# What `make install` leaves in the checkout: kept between runs so torch is not installed again.
KEEP=(.venv .stamps .pkg .qgis-profile)

[ "$(id -u)" -eq 0 ] || { echo "make test-debian13 needs root (debootstrap, mount, chroot): run it with sudo" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
  # Installed as `make install` installs QGIS: from Debian's own registry (Debian and Ubuntu ship it).
  command -v apt-get >/dev/null \
    || { echo "debootstrap is missing and there is no apt-get to install it: install debootstrap" >&2; exit 1; }
  echo "Installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 \
  || { echo "make test-debian13 copies the files git sees: run it in a git checkout" >&2; exit 1; }

started=$(date +%s)
if [ ! -e "$ROOTFS/.complete" ]; then
  # Built beside and moved into place when whole, so an interrupted build is never taken for a finished one.
  echo "Building the Debian 13 root file system in $ROOTFS (once; a few minutes)"
  rm -rf "$ROOTFS.partial"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=make,ca-certificates,git trixie "$ROOTFS.partial" "$MIRROR"
  touch "$ROOTFS.partial/.complete"
  rm -rf "$ROOTFS"
  mv "$ROOTFS.partial" "$ROOTFS"
fi

# The tests' temporary files (failed tests' folders, with generated scenes and checkpoints) are not cached.
clear_tmp() { find "$ROOTFS/tmp" -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true; }
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || echo "could not unmount ${mounted[i]}" >&2
  done
  clear_tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount_into() {  # mount_into TARGET MOUNT-ARGS...
  mkdir -p "$ROOTFS$1"
  mount "${@:2}" "$ROOTFS$1"
  mounted+=("$ROOTFS$1")
}
clear_tmp
mount_into /proc -t proc proc
mount_into /sys -t sysfs sys
mount_into /dev --bind /dev
mount_into /dev/pts --bind /dev/pts
# Names as on the host: DNS, and this machine's own name (torch.distributed's rendezvous looks it up).
cp -L /etc/resolv.conf /etc/hosts "$ROOTFS/etc/"
# pip (and anything else using TLS) trusts what the host trusts, a TLS-inspecting proxy's CA included.
HOST_CA=/etc/ssl/certs/ca-certificates.crt
[ -r "$HOST_CA" ] && cp -L "$HOST_CA" "$ROOTFS/etc/ssl/host-ca-certificates.crt"

# The checkout as git sees it (tracked and new files, not ignored ones), over the kept build outputs.
mkdir -p "$ROOTFS$SRC"
find "$ROOTFS$SRC" -mindepth 1 -maxdepth 1 $(printf -- '-not -name %s ' "${KEEP[@]}") -exec rm -rf {} +
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf -) | tar -xf - -C "$ROOTFS$SRC"
# The copy is a checkout without history: an empty repository makes `git ls-files` (make package) list its files.
chroot "$ROOTFS" /usr/bin/git init -q "$SRC"

echo "Running make $TARGETS in Debian 13 (chroot $ROOTFS)"
status=0
chroot "$ROOTFS" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${PYTEST_ARGS:+PYTEST_ARGS="$PYTEST_ARGS"} \
  $([ -r "$HOST_CA" ] && echo SSL_CERT_FILE=/etc/ssl/host-ca-certificates.crt PIP_CERT=/etc/ssl/host-ca-certificates.crt) \
  /bin/bash -c "cd $SRC && make $TARGETS" || status=$?
echo "make test-debian13: make $TARGETS exited $status after $(($(date +%s) - started)) s"
exit "$status"
