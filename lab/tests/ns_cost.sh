# ns_cost: memmap and capacity cost of one namespace (kl.mode, kl.map, kl.size, kl.align).
load_nvdimm
init_labels
meminfo before
args="-r region0 --mode=$KL_mode --size=$KL_size"
[ -n "$KL_map" ] && args="$args --map=$KL_map"
[ -n "$KL_align" ] && args="$args --align=$KL_align"
kl "cmd ndctl create-namespace $args"
timeit ndctl create-namespace $args > /tmp/ns.json 2>/tmp/ns.err
cat /tmp/ns.err
kl "ns $(tr -d ' \n' < /tmp/ns.json)"
meminfo after
for p in /sys/bus/nd/devices/namespace* /sys/bus/nd/devices/pfn* /sys/bus/nd/devices/dax*; do
  d=${p##*/}
  [ -n "$(cat "$p/size" 2>/dev/null | grep -v '^0$')" ] && sysattr "$d" size resource align mode
done
for b in /dev/pmem0; do
  [ -b "$b" ] && kl "blockdev $b $(blockdev --getsize64 $b)"
done
for c in /sys/bus/dax/devices/dax*; do
  [ -e "$c" ] && kl "daxdev ${c##*/} size=$(cat $c/size) align=$(cat $c/align 2>/dev/null)"
done
kl "zoneinfo_present $(awk '$1=="present"{s+=$2} END{print s}' /proc/zoneinfo)"
