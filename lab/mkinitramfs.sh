#!/bin/bash
# mkinitramfs.sh KVER WORK: a busybox initramfs with ndctl, daxctl, mkfs, the nvdimm/dax
# and filesystem modules of kernel KVER, the static helpers of WORK/bin, /init and the
# tests -> WORK/initramfs.cpio.gz
set -euo pipefail
KVER=$1 WORK=$2
LAB=$(cd "$(dirname "$0")" && pwd)
R=$WORK/initramfs
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,mnt,run,lib64,tests}

cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list-full); do
  [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"
done
ln -sf /bin/busybox "$R/sbin/modprobe"   # request_module() calls /sbin/modprobe

copy_with_libs() {   # copy_with_libs BIN [DEST]
  local bin=$1 dest=${2:-$1}
  mkdir -p "$R/$(dirname "$dest")"
  rm -f "$R/$dest"; cp -L "$bin" "$R/$dest"
  ldd "$bin" | grep -oE '/[^ ]+' | while read -r lib; do
    mkdir -p "$R/$(dirname "$lib")"
    [ -e "$R/$lib" ] || cp -L "$lib" "$R/$lib"
  done
}
copy_with_libs /usr/bin/ndctl
copy_with_libs /usr/bin/daxctl
copy_with_libs /sbin/mke2fs /sbin/mke2fs
ln -sf mke2fs "$R/sbin/mkfs.ext4"
copy_with_libs /sbin/mkfs.xfs /sbin/mkfs.xfs
cp /etc/mke2fs.conf "$R/etc/"
for b in "$WORK"/bin/*; do cp "$b" "$R/usr/bin/"; done

MODS="nfit libnvdimm nd_pmem nd_btt nd_e820 dax_pmem device_dax kmem ext4 jbd2 mbcache crc16 xfs
libcrc32c crc32c_generic crc32c-intel virtio_blk virtio_pci nd_virtio virtio_pmem brd loop"
for m in $MODS; do
  modprobe -C /dev/null -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  mkdir -p "$R/$(dirname "$ko")"; cp "$ko" "$R/$ko"
done
cp /lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"

cp "$LAB/guest/init" "$R/init"; chmod +x "$R/init"
cp "$LAB"/tests/*.sh "$R/tests/"
echo "$KVER" > "$R/etc/kl-kernel"
ndctl --version > "$R/etc/kl-ndctl"

(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -1 > "$WORK/initramfs.cpio.gz.tmp"
mv "$WORK/initramfs.cpio.gz.tmp" "$WORK/initramfs.cpio.gz"
echo "lab: initramfs $(du -h "$WORK/initramfs.cpio.gz" | cut -f1) ($(find "$R" -name '*.ko*' | wc -l) modules)"
