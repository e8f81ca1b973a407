"""The emulated machine: units, sparse memory and struct pages, the buddy allocator, the
DAX filesystem, the namespace layout and boot, workloads, kmem and huge-page memmaps."""
