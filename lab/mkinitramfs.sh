#!/bin/bash
# mkinitramfs.sh KVER OUT [MODROOT]: a busybox initramfs with ndctl, daxctl, dmsetup, mkfs,
# the nvdimm/dax, device-mapper and filesystem modules of kernel KVER (from
# MODROOT/lib/modules, default /; compressed modules are unpacked), the static helpers of
# lab/work/bin, /init and the tests -> OUT/initramfs.cpio.gz
set -euo pipefail
KVER=$1 OUT=$2 MODROOT=${3:-/}
LAB=$(cd "$(dirname "$0")" && pwd)
R=$OUT/initramfs
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
copy_with_libs /usr/sbin/dmsetup /sbin/dmsetup
cp /etc/mke2fs.conf "$R/etc/"
for b in "$LAB"/work/bin/*; do cp "$b" "$R/usr/bin/"; done

MODS="nfit libnvdimm nd_pmem nd_btt nd_e820 dax_pmem device_dax kmem ext4 jbd2 mbcache crc16 xfs
libcrc32c crc32c_generic crc32c-intel virtio_blk virtio_pci nd_virtio virtio_pmem brd loop dm_mod dm_delay null_blk"
[ "$MODROOT" = / ] || depmod -b "$MODROOT" "$KVER"
for m in $MODS; do
  modprobe -C /dev/null -d "$MODROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"${MODROOT%/}"}
  mkdir -p "$R/$(dirname "$rel")"; cp "$ko" "$R/$rel"
done
find "$R/lib/modules" -name '*.ko.xz' -exec xz -d {} +    # busybox modprobe loads plain .ko files
find "$R/lib/modules" -name '*.ko.zst' -exec zstd -dq --rm {} +
cp "$MODROOT"/lib/modules/"$KVER"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KVER/" 2>/dev/null || true
depmod -b "$R" "$KVER"

cp "$LAB/guest/init" "$R/init"; chmod +x "$R/init"
cp "$LAB"/tests/*.sh "$R/tests/"
echo "$KVER" > "$R/etc/kl-kernel"
ndctl --version > "$R/etc/kl-ndctl"

(cd "$R" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
echo "lab: initramfs $(du -h "$OUT/initramfs.cpio.gz" | cut -f1) ($(find "$R" -name '*.ko*' | wc -l) modules)"
