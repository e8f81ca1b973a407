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
# ftrace: mount tracefs; trace_funcs F...: filter the function tracer to those of F that
# are traceable here (KL: traceable / untraceable), tracing off until a helper turns it on
T=/sys/kernel/tracing
tracefs() {
  mount -t tracefs nodev $T 2>/dev/null
  [ -e $T/trace ] && kl "tracefs yes" || kl "error no tracefs"
  echo 0 > $T/tracing_on
}
trace_funcs() {
  echo nop > $T/current_tracer
  echo > $T/set_ftrace_filter
  yes="" no=""
  for f in "$@"; do
    if grep -qx "$f" $T/available_filter_functions; then echo "$f" >> $T/set_ftrace_filter; yes="$yes $f"; else no="$no $f"; fi
  done
  kl "traceable$yes"
  kl "untraceable$no"
  echo function > $T/current_tracer
  echo 0 > $T/tracing_on
}
# trace_events E...: enable these events (group/name), KL: events_missing for absent ones
trace_events() {
  no=""
  for e in "$@"; do
    if [ -e $T/events/$e/enable ]; then echo 1 > $T/events/$e/enable; else no="$no $e"; fi
  done
  kl "events_missing$no"
}
# trace_counts TAG BEGIN END: one KL line of function calls (func<-caller=count) between the
# trace_marker lines BEGIN and END, and one of events (event=count; event:result=count for
# the *_done events) over the whole trace
trace_counts() {
  awk -v tag="$1" -v b="tracing_mark_write: $2" -v e="tracing_mark_write: $3" '
    index($0, b) { on = 1; next }
    index($0, e) { on = 0; next }
    /^#/ { next }
    on && $NF ~ /^<-/ { c[$(NF-1) $NF]++; next }
    { for (i = 1; i <= NF; i++) if ($i ~ /^dax_[a-z_]+:$/) {
        n = substr($i, 1, length($i) - 1); ev[n ~ /_done$/ ? n ":" $NF : n]++; break } }
    END {
      s = "calls " tag; for (k in c) s = s " " k "=" c[k]; print "KL: " s
      s = "events " tag; for (k in ev) s = s " " k "=" ev[k]; print "KL: " s
    }' $T/trace
}
