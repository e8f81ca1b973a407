#!/bin/bash
# Install the lab's Debian packages (when missing) and build lab/work/: the kernel
# (bzImage and the extracted PVH vmlinux), the static helpers and the initramfs.
# Idempotent; each step is skipped when its product is newer than its inputs.
set -euo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
WORK=$LAB/work
mkdir -p "$WORK"

PKGS="qemu-system-x86 linux-image-amd64 ndctl daxctl busybox-static cpio kmod gcc libc6-dev e2fsprogs xfsprogs file"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "lab: installing$missing"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

# the kernel linux-image-amd64 depends on (newest installed)
KVER=$(dpkg-query -W -f '${Depends}' linux-image-amd64 | sed -E 's/.*linux-image-([^ ,]+).*/\1/')
[ -f "/boot/vmlinuz-$KVER" ] || { echo "lab: /boot/vmlinuz-$KVER missing" >&2; exit 1; }
echo "$KVER" > "$WORK/kver.new"
cmp -s "$WORK/kver.new" "$WORK/kver" || mv "$WORK/kver.new" "$WORK/kver"
rm -f "$WORK/kver.new"

if [ ! -s "$WORK/vmlinux" ] || [ "/boot/vmlinuz-$KVER" -nt "$WORK/vmlinux" ]; then
  echo "lab: extracting vmlinux from /boot/vmlinuz-$KVER"
  cp "/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
  python3 "$LAB/extract-vmlinux.py" "$WORK/vmlinuz" "$WORK/vmlinux"
fi

for src in "$LAB"/src/*.c; do
  bin=$WORK/bin/$(basename "$src" .c)
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    mkdir -p "$WORK/bin"
    gcc -O2 -Wall -static -o "$bin" "$src"
  fi
done

if [ ! -s "$WORK/initramfs.cpio.gz" ] || [ -n "$(find "$LAB/guest" "$LAB/tests" "$LAB/mkinitramfs.sh" "$WORK/bin" "$WORK/kver" -newer "$WORK/initramfs.cpio.gz" | head -1)" ]; then
  echo "lab: building initramfs"
  "$LAB/mkinitramfs.sh" "$KVER" "$WORK"
fi
echo "lab: ready (kernel $KVER)"
