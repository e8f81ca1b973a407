# persist_write: store patterns through DAX mappings (ext4 -o dax with MAP_SYNC, devdax),
# then power off with no sync and no unmount (boot with kl.nosync=1). persist_read checks
# them on the next boot from the same NVDIMM backing file.
load_nvdimm
modprobe ext4
init_labels
ndctl create-namespace -r region0 --mode=fsdax --map=dev --size=512M > /dev/null
ndctl create-namespace -r region0 --mode=devdax --map=dev --size=512M > /dev/null
kl "devices $(ls /dev | grep -E '^(pmem|dax)' | tr '\n' ' ')"
mkdir -p /mnt/p
mkfs.ext4 -q -F -b 4096 /dev/pmem0 && mount -t ext4 -o dax /dev/pmem0 /mnt/p || kl "error ext4 dax"
daxpattern write /mnt/p/file 8388608 7
daxpattern write /dev/dax0.1 8388608 9
kl "poweroff without sync or unmount"
