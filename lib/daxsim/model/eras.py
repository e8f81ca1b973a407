"""Kernel eras: each option modelled as a named Linux release does it.

An :class:`Era` says, mechanism by mechanism, what the kernel of that release does on the
O_DIRECT path to a DAX-mapped buffer: how the block layer builds bio_vecs, whether GUP
takes references (FOLL_GET) or pins (FOLL_PIN), how GUP references a compound page, the
refcount of an idle ZONE_DEVICE page, what truncate waits for and unmaps, how a read's
completion dirties the pages, and how large a struct page is. Each mechanism has a
:class:`Source` (file and function, commit, release) with its status: ``confirmed``
(read in the kernel's source or a pull request), ``inferred`` (the release deduced, with
the reason) or ``unconfirmed``. ``4.0`` is the thread's own kernel: the options as the
thread proposed them, with none of the later machinery. The ``memdesc-*`` eras are
*proposed*, not released: the memdesc plan's 32-byte struct page, and its 8-byte memdesc
with a descriptor allocated per folio in use.

The emulator reads an era's mechanisms as numbers (:meth:`Era.scalars`), so one compiled
kernel serves every era.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_ERA", "ERAS", "MECHANISMS", "Era", "Source", "era", "era_table"]


@dataclass(frozen=True)
class Source:
    """Where a mechanism's behaviour in an era comes from."""

    where: str  #: kernel file and function, commit, pull request or proposal
    status: str = "confirmed"  #: confirmed, inferred (with the reason), unconfirmed (with the reason)
    keys: tuple[str, ...] = ()  #: bibliography keys


#: mechanism -> what it decides (the era table's rows)
MECHANISMS = {
    "bvec": "bio_vecs for physically contiguous pages: one per 4 KiB page, or one per contiguous run",
    "pin": "how GUP holds the pages of a direct I/O: FOLL_GET (+1) or FOLL_PIN (+1024 on an order-0 page)",
    "compound_gup": "references GUP takes on a huge (PMD) mapping: one per 4 KiB page, or one per folio",
    "idle_refcount": "refcount of an idle ZONE_DEVICE page",
    "truncate_wait": "truncate waits for pages with references (dax_layout_busy_page)",
    "truncate_scope": "what truncate scans and unmaps: the punched range, or the whole file",
    "truncate_needs_mapping": "truncate skips the wait when nothing maps the file (munmap before truncate)",
    "read_dirty": "a read's completion dirties the buffer: per 4 KiB page, or per folio",
    "struct_page_bytes": "bytes of memmap per 4 KiB page",
    "folio_desc_bytes": "bytes of a descriptor allocated per folio while it is referenced (memdesc)",
}

_BVEC_419 = Source(
    "block/bio.c __bio_iov_iter_get_pages(): one bvec per page ('Deep magic'); "
    "__bio_try_merge_page() merges within one page only",
    "confirmed (4.18-4.20 form)",
)
_BVEC_51 = Source(
    "07173c3ec276 'block: enable multipage bvecs' (page_is_mergeable: physically contiguous "
    "pages merge); 6.2 adds zone_device_pages_have_same_pgmap()",
    "inferred: first release 5.1 (V15 posted during 5.0-rc)",
    ("lei2019multipagebvec",),
)
_BVEC_615 = Source(
    "block/bio.c: folio-aware __bio_iov_iter_get_pages(), get_contig_folio_len(), "
    "bvec_try_merge_page() checks the pgmap",
    "confirmed (6.14-6.16 form)",
)
_GET = Source(
    "iov_iter_get_pages2() -> get_user_pages_fast(): FOLL_GET; __bio_release_pages(): put_page()",
    "confirmed (6.1 form; the lab measured get_user_pages_fast on 6.1.192)",
)
_PIN = Source(
    "'Block updates for 6.5': iov_iter_extract_pages(), pin_user_pages_fast(), BIO_PAGE_PINNED; "
    "try_grab_folio(): GUP_PIN_COUNTING_BIAS = 1024 on an order-0 folio",
    "confirmed, 6.5 (the lab measured pin_user_pages_fast on 6.12.95)",
    ("axboe2023block65",),
)
_PER_PAGE = Source(
    "__gup_device_huge() / fsdax PMD of order-0 pages: one grab per 4 KiB",
    "confirmed (mm/gup.c 6.0-6.4 form; the lab counted 16 references per 64 KiB I/O on a PMD mapping, 6.1 and 6.12)",
)
_PER_FOLIO = Source(
    "6.15 'fs/dax: properly refcount fs dax pages': fsdax PMDs are compound folios mapped by "
    "vmf_insert_folio_pmd() without the devmap bit, so GUP takes the gup_fast_pmd_leaf() path: "
    "record_subpages() and one try_grab_folio_fast(refs) per PMD",
    "inferred: mm/gup.c of 6.15 not read; the devmap path is deleted in 6.17 (confirmed)",
    ("morton2025mm615", "morton2025mm617"),
)
_IDLE_1 = Source("include/linux/dax.h dax_page_is_idle(): page_ref_count(page) == 1", "confirmed (before 6.15)")
_IDLE_0 = Source(
    "'fs/dax: properly refcount fs dax pages' (MM updates for 6.15-rc1): dax_page_is_idle(): "
    "page_ref_count(page) == 0; a reference per mapping",
    "confirmed, 6.15",
    ("morton2025mm615",),
)
_NO_WAIT = Source(
    "dax_layout_busy_page() does not exist before 4.18 (5fac7408d828 'mm, fs, dax: handle layout "
    "changes to pinned dax mappings'): truncate does not wait for pinned pages",
    "confirmed (the commit's first release, 4.18)",
)
_WAIT = Source(
    "fs/dax.c dax_layout_busy_page(): ext4_break_layouts() / xfs_break_dax_layouts() wait until "
    "no page of the file is busy",
    "confirmed, 4.18",
)
_FILE = Source(
    "fs/dax.c dax_layout_busy_page_range(mapping, 0, LLONG_MAX): unmap_mapping_pages() of the "
    "whole file, then every busy page of the file",
    "confirmed (4.18 to 6.15 forms)",
)
_NEEDS_MAP = Source(
    "fs/dax.c: 'if (!dax_mapping(mapping) || !mapping_mapped(mapping)) return NULL;'",
    "confirmed, 4.18 to 6.14 (the lab saw a munmapped buffer's truncate skip the wait on 6.1 and 6.12)",
)
_MAP_FIXED = Source(
    "'fs/dax: Return unmapped busy pages from dax_layout_busy_page_range()' (Popple): the "
    "mapping_mapped() test removed",
    "confirmed, 6.15 (MM updates for 6.15-rc1)",
    ("popple2024unmappedbusy", "morton2025mm615"),
)
_DIRTY_PAGE = Source(
    "block/bio.c bio_set_pages_dirty(): set_page_dirty_lock() per 4 KiB page (lock, "
    "noop_dirty_folio sets PG_dirty, unlock)",
    "confirmed (4.19 and 6.1 forms)",
)
_DIRTY_FOLIO = Source(
    "block/bio.c bio_set_pages_dirty(): per folio, folio_lock / folio_mark_dirty / folio_unlock",
    "confirmed (6.14-6.16 form); the lab's 6.1.192 already dirties per folio "
    "(a stable backport), 16 for a 64 KiB fsdax buffer of order-0 pages",
)
_SP64 = Source("Documentation/mm/vmemmap_dedup.rst: struct page is 64 bytes on x86-64", "confirmed")
_SP32 = Source(
    "kernelnewbies 'MatthewWilcox/Memdescs/Path': 'Then we can shrink struct page to 32 bytes'",
    "proposed",
    ("wilcox2024memdescswiki",),
)
_SP8 = Source(
    "kernelnewbies 'MatthewWilcox/Memdescs': struct page { unsigned long memdesc; }, the descriptor "
    "allocated per folio from a slab",
    "proposed; the descriptor's size (96 bytes: flags, lru, mapping, "
    "index, private, counts, order, pfn, memcg) is daxsim's estimate from the wiki's struct folio",
    ("wilcox2024memdescswiki",),
)
_NONE = Source("not applicable in this era", "confirmed")


@dataclass(frozen=True)
class Era:
    """One kernel release (or proposal), mechanism by mechanism (see :data:`MECHANISMS`)."""

    name: str
    released: str  #: the release's date, or "proposed"
    title: str
    bvec: str  #: "page" | "contiguous"
    pin: str  #: "get" | "pin"
    compound_gup: str  #: "page" | "folio"
    idle_refcount: int
    truncate_wait: bool
    truncate_scope: str  #: "range" | "file"
    truncate_needs_mapping: bool
    read_dirty: str  #: "page" | "folio"
    struct_page_bytes: int = 64
    folio_desc_bytes: int = 0
    sources: dict = field(default_factory=dict)

    @property
    def proposed(self) -> bool:
        return self.released == "proposed"

    @property
    def pin_bias(self) -> int:
        """What a reference adds to an order-0 page's refcount."""
        return 1024 if self.pin == "pin" else 1

    def scalars(self) -> dict:
        """The mechanisms as the emulator's kernels read them (see daxsim.paths.state)."""
        return {
            "bvec_merge": int(self.bvec == "contiguous"),
            "pin_bias": self.pin_bias,
            "folio_grab": int(self.compound_gup == "folio"),
            "idle_ref": self.idle_refcount,
            "busy_wait": int(self.truncate_wait),
            "busy_file": int(self.truncate_scope == "file"),
            "busy_needs_mapping": int(self.truncate_needs_mapping),
            "dirty_folio": int(self.read_dirty == "folio"),
            "folio_desc_bytes": self.folio_desc_bytes,
        }

    def __repr__(self) -> str:
        return f"<Era {self.name}: {self.title}>"


def _era(name, released, title, **mech) -> Era:
    sources = mech.pop("sources")
    return Era(name, released, title, sources=sources, **mech)


ERAS: dict[str, Era] = {
    e.name: e
    for e in (
        _era(
            "4.0",
            "2015-04-12",
            "the thread's kernel: the options as proposed, nothing merged",
            bvec="page",
            pin="get",
            compound_gup="page",
            idle_refcount=1,
            truncate_wait=False,
            truncate_scope="range",
            truncate_needs_mapping=False,
            read_dirty="page",
            sources={
                "bvec": Source(
                    "block/bio.c __bio_add_page(): merges the same page at a consecutive offset only",
                    "confirmed (4.0-4.2 form)",
                ),
                "pin": Source(
                    "fs/direct-io.c: iov_iter_get_pages() -> get_user_pages_fast(): FOLL_GET",
                    "confirmed; GUP on a DAX mapping of pmem found no struct page (the thread's premise)",
                ),
                "compound_gup": Source("no compound ZONE_DEVICE pages (device-dax compound pages: 5.17)", "inferred"),
                "idle_refcount": _IDLE_1,
                "truncate_wait": _NO_WAIT,
                "truncate_scope": _NONE,
                "truncate_needs_mapping": _NONE,
                "read_dirty": Source(
                    "fs/direct-io.c dio_bio_complete(): set_page_dirty_lock() per page of a read",
                    "unconfirmed: the 4.0 body not read; the 4.19 form does this",
                ),
                "struct_page_bytes": _SP64,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "4.19",
            "2018-10-22",
            "long-term kernel: pages pinned by FOLL_GET, one bvec per page, truncate waits",
            bvec="page",
            pin="get",
            compound_gup="page",
            idle_refcount=1,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=True,
            read_dirty="page",
            sources={
                "bvec": _BVEC_419,
                "pin": Source(
                    "bio_iov_iter_get_pages() -> iov_iter_get_pages() -> "
                    "get_user_pages_fast(): FOLL_GET; put_page() at completion",
                    "confirmed",
                ),
                "compound_gup": _PER_PAGE,
                "idle_refcount": _IDLE_1,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _NEEDS_MAP,
                "read_dirty": _DIRTY_PAGE,
                "struct_page_bytes": _SP64,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "6.1",
            "2022-12-11",
            "the lab's kernel (Debian 12): multi-page bvecs, still FOLL_GET",
            bvec="contiguous",
            pin="get",
            compound_gup="page",
            idle_refcount=1,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=True,
            read_dirty="page",
            sources={
                "bvec": _BVEC_51,
                "pin": _GET,
                "compound_gup": _PER_PAGE,
                "idle_refcount": _IDLE_1,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _NEEDS_MAP,
                "read_dirty": _DIRTY_FOLIO,
                "struct_page_bytes": _SP64,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "6.12",
            "2024-11-17",
            "the lab's second kernel (bookworm-backports): FOLL_PIN",
            bvec="contiguous",
            pin="pin",
            compound_gup="page",
            idle_refcount=1,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=True,
            read_dirty="page",
            sources={
                "bvec": _BVEC_615,
                "pin": _PIN,
                "compound_gup": _PER_PAGE,
                "idle_refcount": _IDLE_1,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _NEEDS_MAP,
                "read_dirty": _DIRTY_FOLIO,
                "struct_page_bytes": _SP64,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "6.15",
            "2025-05-25",
            "after the ZONE_DEVICE / fsdax folio rework: idle refcount 0, compound fsdax folios",
            bvec="contiguous",
            pin="pin",
            compound_gup="folio",
            idle_refcount=0,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=False,
            read_dirty="folio",
            sources={
                "bvec": _BVEC_615,
                "pin": _PIN,
                "compound_gup": _PER_FOLIO,
                "idle_refcount": _IDLE_0,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _MAP_FIXED,
                "read_dirty": _DIRTY_FOLIO,
                "struct_page_bytes": _SP64,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "memdesc-32",
            "proposed",
            "the memdesc plan's intermediate step: a 32-byte struct page",
            bvec="contiguous",
            pin="pin",
            compound_gup="folio",
            idle_refcount=0,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=False,
            read_dirty="folio",
            struct_page_bytes=32,
            sources={
                "bvec": _BVEC_615,
                "pin": _PIN,
                "compound_gup": _PER_FOLIO,
                "idle_refcount": _IDLE_0,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _MAP_FIXED,
                "read_dirty": _DIRTY_FOLIO,
                "struct_page_bytes": _SP32,
                "folio_desc_bytes": _NONE,
            },
        ),
        _era(
            "memdesc-8",
            "proposed",
            "the memdesc plan's goal: an 8-byte memdesc, a descriptor per folio in use",
            bvec="contiguous",
            pin="pin",
            compound_gup="folio",
            idle_refcount=0,
            truncate_wait=True,
            truncate_scope="file",
            truncate_needs_mapping=False,
            read_dirty="folio",
            struct_page_bytes=8,
            folio_desc_bytes=96,
            sources={
                "bvec": _BVEC_615,
                "pin": _PIN,
                "compound_gup": _PER_FOLIO,
                "idle_refcount": _IDLE_0,
                "truncate_wait": _WAIT,
                "truncate_scope": _FILE,
                "truncate_needs_mapping": _MAP_FIXED,
                "read_dirty": _DIRTY_FOLIO,
                "struct_page_bytes": _SP8,
                "folio_desc_bytes": _SP8,
            },
        ),
    )
}

#: the newest released era: what a run models unless told otherwise
DEFAULT_ERA = "6.15"


def era(name=None) -> Era:
    """The era called ``name`` (default :data:`DEFAULT_ERA`); a ValueError names the accepted ones."""
    if isinstance(name, Era):
        return name
    key = DEFAULT_ERA if name is None else str(name)
    if key not in ERAS:
        raise ValueError(f"kernel: {name!r} is not a modelled kernel; accepted: {', '.join(ERAS)}")
    return ERAS[key]


def era_table():
    """One row per mechanism and era: the behaviour, the source and its status (the book prints it)."""
    import pandas as pd

    rows = []
    for mech, what in MECHANISMS.items():
        for e in ERAS.values():
            s = e.sources[mech]
            rows.append(
                {
                    "mechanism": mech,
                    "meaning": what,
                    "kernel": e.name,
                    "released": e.released,
                    "behaviour": str(getattr(e, mech)),
                    "source": s.where,
                    "status": s.status,
                    "keys": ", ".join(s.keys),
                }
            )
    return pd.DataFrame(rows)
