#!/bin/bash
# run-qemu.sh TEST [KERNEL ARGS...]: boot the lab guest once under QEMU TCG with a fresh
# sparse NVDIMM backing file and run /tests/TEST.sh; the serial console goes to stdout.
# Environment: NVDIMM_SIZE (backend bytes incl. label area, default 4 GiB + 128 KiB),
# MEM (guest DRAM, default 2G), SMP (default 2), TIMEOUT (seconds, default 300),
# FRESH (1: new backing file, removed after the boot, the default; 0: keep IMG), IMG
# (the backing file), ACCEL (default tcg,thread=multi), LAB_KERNEL (debian, the default:
# Debian 12's kernel in lab/work; backports: the newer one in lab/work/backports, built by
# lab/setup.sh --backports).
set -euo pipefail
LAB=$(cd "$(dirname "$0")" && pwd)
WORK=$LAB/work
TEST=${1:?usage: run-qemu.sh TEST [KERNEL ARGS...]}
shift
NVDIMM_SIZE=${NVDIMM_SIZE:-$((4 * 1024 * 1024 * 1024 + 128 * 1024))}
MEM=${MEM:-2G} SMP=${SMP:-2} TIMEOUT=${TIMEOUT:-300} FRESH=${FRESH:-1}
ACCEL=${ACCEL:-tcg,thread=multi}
IMG=${IMG:-$WORK/nvdimm-$$.img}
VDISK=$WORK/vdisk-$$.img   # a 256 MiB sparse virtio-blk disk: an O_DIRECT target
case ${LAB_KERNEL:-debian} in
  debian) KDIR=$WORK ;;
  backports) KDIR=$WORK/backports ;;
  *) echo "run-qemu.sh: LAB_KERNEL=$LAB_KERNEL is not one of debian, backports" >&2; exit 2 ;;
esac
[ -s "$KDIR/vmlinux" ] && [ -s "$KDIR/initramfs.cpio.gz" ] || { echo "run-qemu.sh: run lab/setup.sh first (LAB_KERNEL=${LAB_KERNEL:-debian}: lab/setup.sh --backports)" >&2; exit 2; }
if [ "$FRESH" = 1 ]; then rm -f "$IMG"; fi
[ -e "$IMG" ] || truncate -s "$NVDIMM_SIZE" "$IMG"
truncate -s 256M "$VDISK"
cleanup() { rm -f "$VDISK"; if [ "$FRESH" = 1 ]; then rm -f "$IMG"; fi; }
trap cleanup EXIT
set -x
timeout --foreground "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -display none \
  -serial stdio -no-reboot \
  -accel "$ACCEL" -cpu max -smp "$SMP" \
  -machine pc,nvdimm=on -m "$MEM",slots=2,maxmem=16G \
  -object memory-backend-file,id=mem1,share=on,mem-path="$IMG",size="$NVDIMM_SIZE" \
  -device nvdimm,id=nvdimm1,memdev=mem1,label-size=128K \
  -drive file="$VDISK",if=virtio,format=raw,cache=none,aio=threads \
  -kernel "$KDIR/vmlinux" -initrd "$KDIR/initramfs.cpio.gz" \
  -append "console=ttyS0 loglevel=4 panic=-1 kl.test=$TEST $*"
