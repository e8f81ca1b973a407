# kmem: a devdax namespace (kl.map, kl.size) reconfigured as System RAM: RAM added,
# memory blocks, DRAM taken by the memmap of the hot-plugged memory; then offlined.
load_nvdimm
init_labels
blocks() { ls -d /sys/devices/system/memory/memory* | wc -l; }
online_blocks() { cat /sys/devices/system/memory/memory*/state | grep -c online; }
kl "block_size $(cat /sys/devices/system/memory/block_size_bytes)"
kl "memmap_on_memory $(cat /sys/module/memory_hotplug/parameters/memmap_on_memory 2>/dev/null)"
args="-r region0 --mode=devdax --map=$KL_map --size=$KL_size"
kl "cmd ndctl create-namespace $args"
timeit ndctl create-namespace $args > /tmp/ns.json 2>/tmp/ns.err
cat /tmp/ns.err
kl "ns $(tr -d ' \n' < /tmp/ns.json)"
sysattr namespace0.0 size resource
kl "daxdev dax0.0 size=$(cat /sys/bus/dax/devices/dax0.0/size) start=$(cat /sys/bus/dax/devices/dax0.0/resource 2>/dev/null)"
kl "blocks devdax $(blocks) $(online_blocks)"
meminfo devdax
kl "cmd daxctl reconfigure-device --mode=system-ram --no-online dax0.0"
timeit daxctl reconfigure-device --mode=system-ram --no-online dax0.0 > /tmp/dx.json 2>/tmp/dx.err
cat /tmp/dx.err
kl "blocks added $(blocks) $(online_blocks)"
meminfo added
kl "cmd daxctl online-memory dax0.0"
timeit daxctl online-memory dax0.0 2>&1 | tail -3
kl "blocks online $(blocks) $(online_blocks)"
meminfo online
grep -E "^(MemTotal|MemFree|Percpu|PageTables):" /proc/meminfo | tr -s ' ' | sed 's/^/KL: meminfo_raw /'
kl "cmd daxctl offline-memory dax0.0"
timeit daxctl offline-memory dax0.0 2>&1 | tail -3
kl "blocks offline $(blocks) $(online_blocks)"
meminfo offline
