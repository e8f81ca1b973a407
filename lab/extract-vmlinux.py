"""Unpack the compressed payload of a bzImage (xz, or zstd through the zstd command) into
an uncompressed vmlinux (ELF, with a PVH note).

usage: extract-vmlinux.py BZIMAGE VMLINUX
"""

import lzma
import subprocess
import sys
from pathlib import Path

src, dst = sys.argv[1:3]
data = Path(src).read_bytes()


def xz(blob):
    try:
        return lzma.LZMADecompressor().decompress(blob)
    except lzma.LZMAError:
        return b""


def zstd(blob):
    # the payload is followed by the rest of the image: zstd stops after the first frame
    p = subprocess.run(["zstd", "-dcq"], input=blob, capture_output=True, check=False)
    return p.stdout


for magic, unpack in ((b"\xfd7zXZ\x00", xz), (b"\x28\xb5\x2f\xfd", zstd)):
    pos = data.find(magic)
    while pos >= 0:
        out = unpack(data[pos:])
        if out[:4] == b"\x7fELF":
            Path(dst).write_bytes(out)
            sys.exit(0)
        pos = data.find(magic, pos + 1)
sys.exit(f"extract-vmlinux: no xz- or zstd-compressed ELF found in {src}")
