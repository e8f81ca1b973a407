# pmd_writeback: 2-byte stores scattered over an 8 MiB ext4-DAX file mapped with PMDs and
# over one mapped with 4 KiB PTEs, then fsync: the fs_dax write-back tracepoints give what
# was flushed (dax_writeback_one: pgoff, pglen in 4 KiB pages).
load_nvdimm
modprobe ext4 || kl "error modprobe ext4"
init_labels
tracefs
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
pm=/dev/$(ndctl create-namespace -r region0 --mode=fsdax --map=mem --size=1G | tr -d ' \n' | field blockdev)
kl "devices $pm"
mkdir -p /mnt/e4dax
mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512 "$pm" && mount -t ext4 -o dax "$pm" /mnt/e4dax || kl "error ext4 dax"
grep e4dax /proc/mounts | while read -r d m t o rest; do kl "mount $m $t $o"; done
echo nop > $T/current_tracer
trace_events fs_dax
OFFS=${KL_offsets:-4196,4296,1048583,3149728,6303289,6311481}
SIZE=8388608
for map in pmd pte; do
  echo > $T/trace
  kl "case $map size=$SIZE offsets=$OFFS"
  klio wb /mnt/e4dax/wb-$map $map $SIZE $(echo "$OFFS" | tr ',' ' ')
  trace_counts "$map" "klio store-begin" "klio wb-begin"
  # every dax_writeback_one and dax_writeback_range between the fsync's markers
  awk -v tag="$map" '/klio wb-begin/ {on = 1; next} /klio wb-end/ {on = 0}
    on && /dax_writeback_one:/ { for (i = 1; i <= NF; i++) { if ($i == "pgoff") o = $(i + 1); if ($i == "pglen") l = $(i + 1) }
      print "KL: wbone " tag " pgoff=" o " pglen=" l }
    on && /dax_writeback_range:/ { for (i = 1; i <= NF; i++) if ($i == "pgoff") r = $(i + 1)
      print "KL: wbrange " tag " pgoff=" r }' $T/trace
done
umount /mnt/e4dax
