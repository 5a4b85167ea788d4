"""Finish a 32 KB Master System / Game Gear ROM: fill in the header checksum.

usage: checksum.py IN OUT

The "TMR SEGA" header at 0x7FF0 declares 32 KB (size code 0xC), whose
checksum is the 16-bit sum of the bytes 0x0000-0x7FEF, stored
little-endian at 0x7FFA.
"""

import sys

SIZE = 0x8000

rom = bytearray(open(sys.argv[1], "rb").read())
if len(rom) != SIZE or rom[0x7FF0:0x7FF8] != b"TMR SEGA":
    sys.exit(f"{sys.argv[1]}: expected {SIZE} bytes with a TMR SEGA header at 0x7FF0")
rom[0x7FFA:0x7FFC] = (sum(rom[:0x7FF0]) & 0xFFFF).to_bytes(2, "little")
open(sys.argv[2], "wb").write(rom)
