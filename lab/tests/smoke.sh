# smoke: the nvdimm modules load, labels initialise, one fsdax namespace is created.
load_nvdimm
init_labels
meminfo before
timeit ndctl create-namespace -r region0 --mode=fsdax --map=mem --size=256M > /tmp/ns.json
kl "ns $(tr -d ' \n' < /tmp/ns.json)"
meminfo after
ls /dev/pmem* > /dev/null && kl "ok pmem"
