# gup_counts: the kernel's own calls per O_DIRECT I/O between a DAX-mapped buffer and a
# virtio disk (function tracer, this process only): fsdax (ext4 -o dax) mapped with 4 KiB
# PTEs and with PMDs, devdax 2 MiB; reads and writes of 4 KiB and 64 KiB, kl.n I/Os each.
N=${KL_n:-32}
load_nvdimm
for m in virtio_pci virtio_blk ext4; do modprobe $m || kl "error modprobe $m"; done
init_labels
tracefs
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
pm=/dev/$(ndctl create-namespace -r region0 --mode=fsdax --map=mem --size=1G | tr -d ' \n' | field blockdev)
dax=/dev/$(ndctl create-namespace -r region0 --mode=devdax --map=mem --size=512M --align=2M | tr -d ' \n' | field chardev)
kl "devices $pm $dax"
mkdir -p /mnt/e4dax
# stripe = 2 MiB: mballoc aligns 2 MiB allocations, so a PMD can map them
mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512 "$pm" && mount -t ext4 -o dax "$pm" /mnt/e4dax || kl "error ext4 dax"
grep e4dax /proc/mounts | while read -r d m t o rest; do kl "mount $m $t $o"; done
# one file per mapping: a file once mapped with PTEs keeps 4 KiB entries in its mapping,
# and a PMD fault then falls back
for f in pte pmd; do dd if=/dev/zero of=/mnt/e4dax/buf-$f bs=2M count=1 2>/dev/null; done
sync
[ -b /dev/vda ] || kl "error no /dev/vda"
trace_funcs get_user_pages_fast internal_get_user_pages_fast lockless_pages_from_mm gup_fast_fallback gup_fast \
  gup_pgd_range gup_pte_range gup_fast_pte_range gup_huge_pmd gup_fast_pmd_leaf __gup_device_huge \
  __gup_device_huge_pmd gup_fast_devmap_leaf gup_fast_devmap_pmd_leaf try_grab_folio try_grab_folio_fast \
  try_grab_page try_get_folio get_dev_pagemap pin_user_pages_fast unpin_user_page unpin_user_pages \
  unpin_user_folio unpin_folio gup_put_folio iov_iter_get_pages2 iov_iter_extract_pages \
  __iov_iter_get_pages_alloc bio_iov_iter_get_pages __bio_iov_iter_get_pages bio_iov_add_page \
  bio_iov_add_folio __bio_try_merge_page bvec_try_merge_page bio_add_page __bio_add_page bio_add_folio \
  __bio_release_pages bio_release_page bio_set_pages_dirty bio_check_pages_dirty submit_bio submit_bio_wait \
  __put_devmap_managed_page_refs __put_devmap_managed_page __folio_put set_page_dirty_lock set_page_dirty \
  folio_mark_dirty noop_dirty_folio folio_mark_dirty_lock
trace_events fs_dax
for B in fsdax-pte fsdax-pmd devdax-pmd; do
  case $B in fsdax-*) buf=/mnt/e4dax/buf-${B#*-} ;; *) buf=$dax ;; esac
  for op in r w; do
    for size in 4096 65536; do
      c="$B-$op-$size"
      echo > $T/trace
      kl "case $c buf=$buf map=${B#*-} op=$op size=$size n=$N target=/dev/vda"
      klio gup "$buf" "${B#*-}" /dev/vda $op $size $N
      trace_counts "$c" "klio io-begin" "klio io-end"
    done
  done
done
kl "stage graph $(cut -d' ' -f1 /proc/uptime)"
# what __bio_release_pages and get_user_pages_fast call (every traceable function, two
# levels below them), for one 64 KiB read per buffer
echo 0 > $T/events/enable
echo nop > $T/current_tracer
echo > $T/set_ftrace_filter
echo __bio_release_pages > $T/set_graph_function
for f in get_user_pages_fast pin_user_pages_fast; do grep -qx $f $T/available_filter_functions && echo $f >> $T/set_graph_function; done
echo 3 > $T/max_graph_depth
echo function_graph > $T/current_tracer
for B in fsdax-pte fsdax-pmd devdax-pmd; do
  case $B in fsdax-*) buf=/mnt/e4dax/buf-${B#*-} ;; *) buf=$dax ;; esac
  echo > $T/trace
  klio gup "$buf" "${B#*-}" /dev/vda r 65536 1 > /dev/null
  # KL: graph TAG root>function@depth=count: what each traced root calls
  awk -v tag="$B" '/klio io-begin/ {on = 1; next} /klio io-end/ {on = 0}
    on && /\|/ { s = $0; sub(/^[^|]*\| /, "", s); match(s, /^ */); d = int(RLENGTH / 2)
      f = substr(s, RLENGTH + 1); sub(/\(.*/, "", f); if (f == "" || f == "}") next
      if (d == 0) root = f; else c[root ">" f "@" d]++ }
    END { s = "graph " tag; for (k in c) s = s " " k "=" c[k]; print "KL: " s }' $T/trace
done
echo nop > $T/current_tracer
kl "stage done $(cut -d' ' -f1 /proc/uptime)"
umount /mnt/e4dax
