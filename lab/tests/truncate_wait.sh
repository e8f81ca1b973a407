# truncate_wait: an O_DIRECT read into a mapped ext4-DAX file, held in flight by dm-delay
# (kl.delay ms) over a RAM disk; the read's range is punched out of the file while the
# read is in flight, with the mapping kept (mapped) and after munmap (munmap). The
# filesystem is full, so a new file written after the punch gets the freed blocks if the
# punch freed them; its bytes are checked once the read has landed.
DELAY=${KL_delay:-3000}
load_nvdimm
for m in ext4 dm_mod dm_delay; do modprobe $m || kl "error modprobe $m"; done
modprobe brd rd_nr=1 rd_size=65536 || kl "error modprobe brd"
init_labels
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
pm=/dev/$(ndctl create-namespace -r region0 --mode=fsdax --map=mem --size=256M | tr -d ' \n' | field blockdev)
kl "devices $pm /dev/ram0"
mkdir -p /mnt/t
dmesg -c > /dev/null
# mapped twice, with two give-up times: a truncate that waits for the interrupt rather than
# for the DMA shows it here (the wait follows the give-up time)
for run in mapped:$((DELAY + 2000)) mapped:$((DELAY + 5000)) munmap:$((DELAY + 5000)); do
  mode=${run%%:*} giveup=${run#*:}
  # a 32 MiB filesystem: filling it takes little time
  mkfs.ext4 -q -F -b 4096 -m 0 "$pm" 32M && mount -t ext4 -o dax "$pm" /mnt/t || kl "error ext4 dax"
  dd if=/dev/zero of=/mnt/t/buf bs=2M count=1 2>/dev/null
  sync
  echo "0 131072 delay /dev/ram0 0 $DELAY /dev/ram0 0 0" | DM_DISABLE_UDEV=1 dmsetup create slow --noudevsync \
    || kl "error dmsetup create"
  dev=/dev/mapper/slow
  [ -b $dev ] || dev=/dev/dm-0
  kl "case $mode-$giveup mode=$mode delay_ms=$DELAY giveup_ms=$giveup dev=$dev"
  klio trunc $dev /mnt/t/buf "$DELAY" $mode /mnt/t $giveup
  # the kernel's warnings, if any (dax_disassociate_entry warns on a busy page it drops)
  dmesg -c | grep -E "WARNING|dax|BUG" | head -4 | sed "s/^/KL: dmesg $mode-$giveup /"
  umount /mnt/t
  DM_DISABLE_UDEV=1 dmsetup remove --noudevsync slow
done
