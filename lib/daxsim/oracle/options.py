"""The oracle's options: one plain-Python class per option (:class:`Option0` ...
:class:`Ideal`), each the slow twin of a numba path, which the design registry names as
that option's oracle. A class sees the run through its :class:`~daxsim.oracle.world.World`
and answers the queue's questions: admit, page, submitted, complete, release, completed,
busy, held_bytes, finish.
"""

from __future__ import annotations

from daxsim.emu.units import PAGE_SIZE
from daxsim.emu.workload import OP_READ, OP_WRITE
from daxsim.oracle.world import HT_ENTRY_BYTES, World

__all__ = ["Huge", "Ideal", "Nvram", "Option0", "Option1a", "Option1b", "Option2", "Option3"]


class Option2:
    """PFNs: walk the mapping to pfns, an entry per page (or per contiguous run, where the
    era's bio_vecs merge); nothing pins the block."""

    struct_page_memmap = False  # does the set-up build the vmemmap pages the buffer touches
    pins = False  # does truncate wait for its references as the era's dax_layout_busy_page does

    def __init__(self, w: World):
        self.w, self.c = w, w.c

    def admit(self, e, segs) -> bool:
        """Is there room to submit this I/O now (1b's pool)?"""
        return True

    def page(self, e, pos, seg, entries) -> None:
        """Submission of one buffer page: translate it, reference it, describe it."""
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        self.c["pfn_walks"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def submitted(self, e, entries) -> None:
        if self.w.params.get("guard"):
            self.c["range_locks"] += 1

    def complete(self, e, entries) -> None:
        self.w.dma_by_address(e, entries)
        for idx, ent in enumerate(entries):
            self.release(e, idx, ent, entries)
        self.completed(e, entries)

    def release(self, e, idx, ent, entries) -> None:
        """Completion of one entry, after the DMA: drop what submission took."""

    def completed(self, e, entries) -> None:
        pass

    def busy(self, t_off, t_len) -> bool:
        """dax_layout_busy_page(): must a truncate of this range wait?"""
        return bool(self.w.params.get("guard")) and self.w.overlaps_inflight(t_off, t_len)

    def held_bytes(self, n_entries) -> int:
        """DRAM held by transient structures beyond the descriptors."""
        return 0

    def finish(self) -> None:
        """After the run: what must be back where it started."""
        assert all(v == self.w.idle for v in self.w.refcount.values()), "reference: a reference leaked"
        assert self.w.descs == 0, "reference: a folio descriptor leaked"


class Ideal(Option2):
    """The bound: option 2's path, and a truncate comes only after every earlier I/O."""

    def busy(self, t_off, t_len) -> bool:
        return True


class Option3(Option2):
    """Extents: physically contiguous pages merge into one entry, referenced per extent."""

    def page(self, e, pos, seg, entries) -> None:
        pfn = self.w.fs.fault(pos // PAGE_SIZE)
        in_page = pos % PAGE_SIZE
        self.c["pfn_walks"] += 1
        if entries and entries[-1][0] * PAGE_SIZE + entries[-1][1] + entries[-1][2] == pfn * PAGE_SIZE + in_page:
            entries[-1][2] += seg  # physically contiguous: the same extent grows
            entries[-1][4] += 1
        else:
            entries.append([pfn, in_page, seg, pos, 1])

    def submitted(self, e, entries) -> None:
        self.c["refcount_ops"] += len(entries)

    def completed(self, e, entries) -> None:
        self.c["refcount_ops"] += len(entries)

    def busy(self, t_off, t_len) -> bool:
        pfns = self.w.fs.pfns(t_off, t_len)
        return any(ent[0] + k in pfns for _, ents in self.w.inflight for ent in ents for k in range(ent[4]))


class Option1a(Option2):
    """Permanent struct pages: GUP references each page (+1, or +1024 with FOLL_PIN), a read
    dirties it, put_page / unpin drops it."""

    struct_page_memmap = True
    pins = True
    wear = False

    def __init__(self, w):
        super().__init__(w)
        self.wear_of = {}

    def write_line(self, pfn) -> None:
        """A write to the struct page's line (nvram counts it as wear)."""
        if self.wear:
            self.wear_of[pfn] = self.wear_of.get(pfn, 0) + 1
            self.c["memmap_line_writes"] += 1
            self.c["memmap_line_max_writes"] = max(self.c["memmap_line_max_writes"], self.wear_of[pfn])

    def ref(self, pfn, delta, ops=1) -> None:
        w = self.w
        old = w.refcount.get(pfn, w.idle)
        w.refcount[pfn] = old + delta
        self.c["refcount_ops"] += ops
        self.write_line(pfn)
        if w.desc_bytes and delta > 0 and old == w.idle:  # memdesc-8: a descriptor for the folio
            w.descs += 1
            self.c["allocations"] += 1
            self.c["struct_pages_initialised_io"] += 1
            self.c["pool_pages_peak"] = max(self.c["pool_pages_peak"], w.descs)
        if w.desc_bytes and delta < 0 and old + delta == w.idle:
            w.descs -= 1
            self.c["frees"] += 1

    def dirty(self, pfn) -> None:
        self.c["pages_dirtied"] += 1
        self.write_line(pfn)

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        w.touch_memmap(pfn)
        self.ref(pfn, +w.bias)
        if w.op[e] == OP_READ:
            self.dirty(pfn)
        self.c["gup_pages"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def submitted(self, e, entries) -> None:
        pass

    def release(self, e, idx, ent, entries) -> None:
        for k in range(ent[4]):
            self.ref(ent[0] + k, -self.w.bias)
            self.c["put_pages"] += 1

    def busy(self, t_off, t_len) -> bool:
        w = self.w
        return any(w.refcount.get(p, w.idle) != w.idle for p in w.fs.pfns(t_off, t_len))

    def held_bytes(self, n_entries) -> int:
        return self.w.descs * self.w.desc_bytes


class Nvram(Option1a):
    """Option 1a with the memmap on pmem: every write to a struct page is a memmap line write."""

    wear = True


class Huge(Option1a):
    """A huge mapping: before 6.15 a reference per 4 KiB page (order-0 pages in the PMD), from
    6.15 one per compound folio an I/O touches; a fault maps the whole unit."""

    def head(self, pfn):
        n = self.w.params["page_size"] // PAGE_SIZE
        return pfn // n * n

    def folio(self) -> bool:
        return self.w.era.compound_gup == "folio"

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault_huge(pos // PAGE_SIZE, w.params["page_size"] // PAGE_SIZE)
        if self.folio():
            h = self.head(pfn)
            w.touch_memmap(h)
            first = self.first_of(entries, h)
            self.ref(h, +1, ops=1 if first else 0)
            if first:
                self.c["compound_refs"] += 1
                if w.op[e] == OP_READ:
                    self.dirty(h)
        else:
            w.touch_memmap(pfn)
            self.ref(pfn, +w.bias)
            if w.op[e] == OP_READ:
                self.dirty(pfn)
        self.c["gup_pages"] += 1
        w.add_entry(entries, pfn, pos % PAGE_SIZE, seg, pos)

    def first_of(self, entries, h) -> bool:
        """Is this page the first of folio ``h`` in the I/O so far (its pages come in order)?"""
        if not entries:
            return True
        last = entries[-1][0] + (entries[-1][1] + entries[-1][2] - 1) // PAGE_SIZE  # the I/O's last page so far
        return self.head(last) != h

    def release(self, e, idx, ent, entries) -> None:
        w = self.w
        for k in range(ent[4]):
            pfn = ent[0] + k
            self.c["put_pages"] += 1
            if self.folio():
                h = self.head(pfn)
                prev = self.prev_page(entries, idx, k)
                self.ref(h, -1, ops=1 if prev is None or self.head(prev) != h else 0)
            else:
                self.ref(pfn, -w.bias)

    @staticmethod
    def prev_page(entries, idx, k):
        """The page before page ``k`` of entry ``idx`` in the I/O, or None."""
        if k > 0:
            return entries[idx][0] + k - 1
        if idx == 0:
            return None
        prev = entries[idx - 1]
        return prev[0] + prev[4] - 1

    def busy(self, t_off, t_len) -> bool:
        w = self.w
        at = self.head if self.folio() else (lambda p: p)
        return any(w.refcount.get(at(p), w.idle) != w.idle for p in w.fs.pfns(t_off, t_len))


class Option1b(Option2):
    """Transient struct pages from a pool, looked up by pfn, shared by in-flight I/Os; a
    read dirties each (never merged: transient pages are not contiguous)."""

    pins = True

    def __init__(self, w):
        super().__init__(w)
        self.used = 0

    def admit(self, e, segs) -> bool:
        w = self.w
        self.c["lookups"] += len(segs)
        need = sum(1 for pos, _ in segs if w.fs.fault(pos // PAGE_SIZE) not in w.refcount)
        return need <= w.params["pool_pages"] - self.used

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        pfn = w.fs.fault(pos // PAGE_SIZE)
        if pfn in w.refcount:
            w.refcount[pfn] += 1
        else:
            w.refcount[pfn] = 1
            self.used += 1
            self.c["struct_pages_initialised_io"] += 1
            self.c["allocations"] += 1
        self.c["gup_pages"] += 1
        self.c["refcount_ops"] += 1
        entries.append([pfn, pos % PAGE_SIZE, seg, pos, 1])

    def submitted(self, e, entries) -> None:
        self.c["pool_pages_peak"] = max(self.c["pool_pages_peak"], self.used)
        if self.w.op[e] == OP_READ:
            self.c["pages_dirtied"] += len(entries)

    def release(self, e, idx, ent, entries) -> None:
        w = self.w
        w.refcount[ent[0]] -= 1
        self.c["put_pages"] += 1
        self.c["refcount_ops"] += 1
        if w.refcount[ent[0]] == 0:
            del w.refcount[ent[0]]
            self.used -= 1
            self.c["frees"] += 1

    def busy(self, t_off, t_len) -> bool:
        return any(p in self.w.refcount for p in self.w.fs.pfns(t_off, t_len))

    def held_bytes(self, n_entries) -> int:
        return self.used * 64

    def finish(self) -> None:
        slots = 1 << max(4, (2 * self.w.params["pool_pages"] - 1).bit_length())  # a power of two, load <= 1/2
        self.c["transient_dram_peak_bytes"] += slots * HT_ENTRY_BYTES
        assert self.used == 0, "reference: a transient struct page leaked"


class Option0(Option2):
    """No struct pages: every I/O bounces through a DRAM page per buffer page."""

    def __init__(self, w):
        super().__init__(w)
        self.free_dram = w.machine.managed_dram(w.layout) // PAGE_SIZE

    def page(self, e, pos, seg, entries) -> None:
        w = self.w
        fp, in_page = pos // PAGE_SIZE, pos % PAGE_SIZE
        self.free_dram -= 1
        pfn = w.fs.fault(fp)
        bounce = bytearray(PAGE_SIZE)
        if w.op[e] == OP_WRITE:
            bounce[in_page : in_page + seg] = w.pmem[pfn][in_page : in_page + seg]
            self.c["copy_pmem_to_dram"] += seg
        self.c["allocations"] += 1
        self.c["refcount_ops"] += 1
        entries.append([bounce, in_page, seg, pos])

    def submitted(self, e, entries) -> None:
        pass

    def complete(self, e, entries) -> None:
        w = self.w
        for bounce, in_page, seg, pos in entries:
            fp, d = pos // PAGE_SIZE, pos % PAGE_SIZE
            if w.op[e] == OP_WRITE:
                w.dev[fp][d : d + seg] = bounce[in_page : in_page + seg]
                self.c["dma_from_dram"] += seg
            else:
                bounce[in_page : in_page + seg] = w.dev[fp][d : d + seg]
                self.c["dma_to_dram"] += seg
                w.pmem[w.fs.fault(fp)][in_page : in_page + seg] = bounce[in_page : in_page + seg]
                self.c["copy_dram_to_pmem"] += seg
                self.c["bytes_flushed"] += seg
            self.free_dram += 1
            self.c["frees"] += 1
            self.c["refcount_ops"] += 1

    def busy(self, t_off, t_len) -> bool:
        return self.w.overlaps_inflight(t_off, t_len)

    def held_bytes(self, n_entries) -> int:
        return n_entries * PAGE_SIZE

    def finish(self) -> None:
        assert self.free_dram == self.w.machine.managed_dram(self.w.layout) // PAGE_SIZE, (
            "reference: a bounce page leaked"
        )
