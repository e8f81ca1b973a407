"""Sizes are read like the kernel's memparse; constants are the x86-64 ones."""

import pytest

from daxsim.emu.units import (
    GiB,
    KiB,
    MiB,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    SECTION_SIZE,
    STRUCT_PAGE_SIZE,
    TiB,
    align_up,
    format_size,
    memmap_bytes,
    parse_size,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("8G", 8 * GiB),
        ("8g", 8 * GiB),
        ("400 GiB", 400 * GiB),
        ("400GB", 400 * GiB),
        ("6T", 6 * TiB),
        ("64k", 64 * KiB),
        ("4096", 4096),
        (4096, 4096),
        ("1.5G", 3 * GiB // 2),
        ("2M", 2 * MiB),
    ],
)
def test_parse_size_reads_binary_suffixes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "8X", "-1G", "0", 0, -5, "G", "1.5", None, True, "8 G B"])
def test_parse_size_rejects_nonsense_and_names_the_parameter(bad):
    with pytest.raises(ValueError, match=r"^pmem: "):
        parse_size(bad, "pmem")


def test_constants_are_the_kernels():
    assert PAGE_SIZE == 4096 and STRUCT_PAGE_SIZE == 64 and SECTION_SIZE == 128 * MiB
    assert PAGES_PER_SECTION == 32768
    assert memmap_bytes(SECTION_SIZE) == 2 * MiB  # one section's memmap


def test_memmap_is_one_sixty_fourth():
    assert memmap_bytes(400 * GiB) == 6.25 * GiB
    assert memmap_bytes(1 * TiB) == 16 * GiB  # ndctl: "16GB per 1TB"


def test_format_and_align():
    assert format_size(6.25 * GiB) == "6.25 GiB"
    assert format_size(512) == "512 B"
    assert align_up(8 * KiB, 2 * MiB) == 2 * MiB
