# odirect: O_DIRECT reads and writes whose user buffer is a DAX mapping (ext4 -o dax,
# xfs -o dax, devdax; an anonymous buffer as the control) into several targets, data
# verified; then long-term pins (FOLL_LONGTERM) of the same mappings.
load_nvdimm
for m in virtio_pci virtio_blk ext4 xfs; do modprobe $m || kl "error modprobe $m"; done
modprobe brd rd_nr=1 rd_size=131072 || kl "error modprobe brd"
init_labels
mk() {
  kl "cmd ndctl create-namespace -r region0 $*"
  ndctl create-namespace -r region0 "$@" | tr -d ' \n'
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
pm_mem=/dev/$(mk --mode=fsdax --map=mem --size=1G | field blockdev)
pm_dev=/dev/$(mk --mode=fsdax --map=dev --size=1G | field blockdev)
dax=/dev/$(mk --mode=devdax --map=mem --size=512M | field chardev)
raw=/dev/$(mk --mode=raw --size=256M | field blockdev)
kl "devices $pm_mem $pm_dev $dax $raw"
mkdir -p /mnt/e4dax /mnt/xfsdax /mnt/e4ram
mkfs.ext4 -q -F -b 4096 "$pm_mem" && mount -t ext4 -o dax "$pm_mem" /mnt/e4dax || kl "error ext4 dax"
mkfs.xfs -q -f -m reflink=0 "$pm_dev" && mount -t xfs -o dax "$pm_dev" /mnt/xfsdax || kl "error xfs dax"
mkfs.ext4 -q -F /dev/ram0 && mount -t ext4 /dev/ram0 /mnt/e4ram || kl "error ext4 ram"
grep -E "e4dax|xfsdax|e4ram" /proc/mounts | while read -r d m t o rest; do kl "mount $m $t $o"; done
dmesg | grep -i "dax" | sed 's/^/KL: dmesg /' | head -5
[ -b /dev/vda ] || kl "error no /dev/vda"
for B in anon /mnt/e4dax/buf /mnt/xfsdax/buf "$dax"; do
  for T in /dev/vda /mnt/e4ram/tgt "$raw" /mnt/e4dax/tgt /mnt/xfsdax/tgt; do
    dax_odirect "$B" "$T" 32
  done
  dax_odirect --pin "$B"
done
umount /mnt/e4dax /mnt/xfsdax /mnt/e4ram
