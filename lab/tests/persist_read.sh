# persist_read: the second boot of the persistence experiment (see persist_write.sh).
load_nvdimm
modprobe ext4
kl "devices $(ls /dev | grep -E '^(pmem|dax)' | tr '\n' ' ')"
mkdir -p /mnt/p
mount -t ext4 -o dax /dev/pmem0 /mnt/p || kl "error mount after power-off"
daxpattern check /mnt/p/file 8388608 7
daxpattern check /dev/dax0.1 8388608 9
umount /mnt/p
