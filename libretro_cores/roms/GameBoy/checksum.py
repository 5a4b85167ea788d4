"""Finish a 32 KB Game Boy ROM: fill in the header and global checksums.

usage: checksum.py IN OUT

Header checksum (0x14D): starting from 0, subtract each byte of
0x134-0x14C plus one, keep the low 8 bits. Global checksum (0x14E, big
endian): 16-bit sum of every byte except those two.
"""

import sys

SIZE = 0x8000

rom = bytearray(open(sys.argv[1], "rb").read())
if len(rom) != SIZE:
    sys.exit(f"{sys.argv[1]}: expected {SIZE} bytes, got {len(rom)}")
check = 0
for byte in rom[0x134:0x14D]:
    check = (check - byte - 1) & 0xFF
rom[0x14D] = check
rom[0x14E:0x150] = (sum(rom[:0x14E]) + sum(rom[0x150:])).to_bytes(4, "big")[2:]
open(sys.argv[2], "wb").write(rom)
