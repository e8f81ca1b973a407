"""Unpack the xz payload of a bzImage into an uncompressed vmlinux (ELF, with a PVH note).

usage: extract-vmlinux.py BZIMAGE VMLINUX
"""
import lzma
import sys

src, dst = sys.argv[1:3]
data = open(src, "rb").read()
magic = b"\xfd7zXZ\x00"
pos = data.find(magic)
while pos >= 0:
    try:
        out = lzma.LZMADecompressor().decompress(data[pos:])
    except lzma.LZMAError:
        out = b""
    if out[:4] == b"\x7fELF":
        open(dst, "wb").write(out)
        sys.exit(0)
    pos = data.find(magic, pos + 1)
sys.exit(f"extract-vmlinux: no xz-compressed ELF found in {src}")
