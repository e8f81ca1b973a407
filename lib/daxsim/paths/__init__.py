"""One module per design option; each exposes ``KERNEL``, ``kernel_args`` and ``STRUCT_PAGES``."""

from . import option0, option1a

OPTIONS = {
    "0": option0,
    "1a": option1a,
}

DESCRIPTIONS = {
    "0": "bounce through DRAM page-cache pages (no struct pages for pmem)",
    "1a": "a permanent struct page for every pmem page",
}


def path_module(option):
    """The module implementing ``option``; a ValueError names the accepted options."""
    key = str(option)
    if key not in OPTIONS:
        raise ValueError(f"option: {option!r} is not an option; accepted: {', '.join(OPTIONS)}")
    return OPTIONS[key]
