# Helpers sourced by every test. KL: lines are the test's output on the serial console.
kl() { echo "KL: $*"; }
settle() { sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1; }
# per-CPU free pages: the sum of the pageset counts in /proc/zoneinfo
pcp_pages() { awk '$1=="count:"{s+=$2} END{print s+0}' /proc/zoneinfo; }
# one line: meminfo <tag> MemTotal MemFree(kB) pcp(pages)
meminfo() {
  settle
  kl "meminfo $1 $(awk '$1=="MemTotal:"{t=$2} $1=="MemFree:"{f=$2} END{print t, f}' /proc/meminfo) $(pcp_pages)"
}
load_nvdimm() {
  for m in nfit libnvdimm nd_pmem nd_btt dax_pmem device_dax kmem crc32c_generic crc32c-intel; do
    modprobe "$m" || kl "error modprobe $m"
  done
  udevadm settle 2>/dev/null || sleep 1
}
init_labels() {
  ndctl disable-region all >/dev/null && ndctl init-labels -f all >/dev/null && ndctl enable-region all >/dev/null
  kl "region $(cat /sys/bus/nd/devices/region0/size) $(cat /sys/bus/nd/devices/region0/available_size) $(cat /sys/bus/nd/devices/region0/align 2>/dev/null)"
}
# sysattr DEV ATTR...: one KL line with the attributes of /sys/bus/nd/devices/DEV
sysattr() {
  d=$1; shift; line="attr $d"
  for a in "$@"; do
    v=$(cat "/sys/bus/nd/devices/$d/$a" 2>/dev/null | head -1)
    line="$line $a=${v:-NA}"
  done
  kl "$line"
}
