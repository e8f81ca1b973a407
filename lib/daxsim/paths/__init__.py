"""One module per design option (submit / complete / busy); ``queue`` runs them all."""

from daxsim.paths import option0, option1a, option1b, option2, option3, optionhuge

#: option id -> the module that implements it
OPTIONS = {"0": option0, "1a": option1a, "1b": option1b, "2": option2, "3": option3, "huge": optionhuge,
           "nvram": option1a, "ideal": option2}

DESCRIPTIONS = {
    "0": "bounce through DRAM page-cache pages (no struct pages for pmem)",
    "1a": "a permanent struct page for every pmem page",
    "1b": "struct pages only while a page is under I/O",
    "2": "PFNs instead of struct pages (nothing pins the block)",
    "3": "an extent-based descriptor for DRAM and PMEM",
    "huge": "huge pages (2 MiB, 1 GiB): compound struct pages, dirty tracking per huge page",
    "nvram": "NV-RAM as RAM: the memmap on pmem itself, its writes counted as wear",
    "ideal": "the bound: no metadata, no copy",
}

#: options whose design allows the truncate/DMA hazard (corruption is counted, not raised)
HAZARDOUS = {"2"}


def path_module(option):
    """The module implementing ``option``; a ValueError names the accepted options."""
    key = str(option)
    if key not in OPTIONS:
        raise ValueError(f"option: {option!r} is not an option; accepted: {', '.join(OPTIONS)}")
    return OPTIONS[key]



