#!/bin/bash
# Install the lab's Debian packages (when missing) and build lab/work/: the kernel
# (bzImage and the extracted PVH vmlinux), the static helpers and the initramfs.
# Idempotent; each step is skipped when its product is newer than its inputs.
#
# lab/setup.sh --backports also builds lab/work/backports/ from the newer kernel that
# bookworm-backports offers (linux-image-amd64 there): the package is downloaded with
# apt-get into lab/work/apt (its own package lists: the machine's sources are not
# touched) and unpacked, not installed. run-qemu.sh boots it with LAB_KERNEL=backports.
set -euo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
WORK=$LAB/work
mkdir -p "$WORK"

PKGS="qemu-system-x86 linux-image-amd64 ndctl daxctl busybox-static cpio kmod gcc libc6-dev e2fsprogs xfsprogs file dmsetup zstd xz-utils"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "lab: installing$missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

for src in "$LAB"/src/*.c; do
  bin=$WORK/bin/$(basename "$src" .c)
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    mkdir -p "$WORK/bin"
    gcc -O2 -Wall -static -o "$bin" "$src"
  fi
done

# build_kernel KVER VMLINUZ MODROOT OUT: OUT/{kver,vmlinux,initramfs.cpio.gz}
build_kernel() {
  local kver=$1 vmlinuz=$2 modroot=$3 out=$4
  mkdir -p "$out"
  echo "$kver" > "$out/kver.new"
  cmp -s "$out/kver.new" "$out/kver" || mv "$out/kver.new" "$out/kver"
  rm -f "$out/kver.new"
  if [ ! -s "$out/vmlinux" ] || [ "$vmlinuz" -nt "$out/vmlinux" ]; then
    echo "lab: extracting vmlinux from $vmlinuz"
    cp "$vmlinuz" "$out/vmlinuz"
    python3 "$LAB/extract-vmlinux.py" "$out/vmlinuz" "$out/vmlinux"
  fi
  if [ ! -s "$out/initramfs.cpio.gz" ] || [ -n "$(find "$LAB/guest" "$LAB/tests" "$LAB/mkinitramfs.sh" "$WORK/bin" "$out/kver" -newer "$out/initramfs.cpio.gz" | head -1)" ]; then
    echo "lab: building initramfs for $kver"
    "$LAB/mkinitramfs.sh" "$kver" "$out" "$modroot"
  fi
  echo "lab: ready (kernel $kver in ${out#$LAB/})"
}

if [ "${1:-}" = --backports ]; then
  APT=$WORK/apt
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  echo "deb http://deb.debian.org/debian bookworm-backports main" > "$APT/sources.list"
  opts=(-o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$APT/lists"
        -o Dir::Cache="$APT/cache" -o Debug::NoLocking=1)
  if ! apt-get -q "${opts[@]}" update >/dev/null 2>"$APT/update.err"; then
    echo "lab: bookworm-backports is not reachable ($(tail -1 "$APT/update.err")); no second kernel" >&2
    exit 3
  fi
  pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -1)
  [ -n "$pkg" ] || { echo "lab: bookworm-backports has no linux-image-amd64" >&2; exit 3; }
  kver=${pkg#linux-image-}
  out=$WORK/backports
  mkdir -p "$out"
  if [ ! -d "$out/root/lib/modules/$kver" ]; then
    echo "lab: downloading $pkg from bookworm-backports"
    (cd "$APT" && rm -f ./*.deb && apt-get -q "${opts[@]}" download "$pkg" >/dev/null 2>&1)
    rm -rf "$out/root"
    dpkg-deb -x "$APT"/*.deb "$out/root"
    dpkg-deb -f "$APT"/*.deb Version > "$out/package"
    rm -f "$APT"/*.deb
  fi
  build_kernel "$kver" "$out/root/boot/vmlinuz-$kver" "$out/root" "$out"
  exit 0
fi

# the kernel linux-image-amd64 depends on (newest installed)
KVER=$(dpkg-query -W -f '${Depends}' linux-image-amd64 | sed -E 's/.*linux-image-([^ ,]+).*/\1/')
[ -f "/boot/vmlinuz-$KVER" ] || { echo "lab: /boot/vmlinuz-$KVER missing" >&2; exit 1; }
build_kernel "$KVER" "/boot/vmlinuz-$KVER" / "$WORK"
