"""Finish a Mega Drive ROM: pad it, set the ROM end address and the header checksum.

usage: checksum.py IN OUT

The checksum (word at 0x18E) is the 16-bit sum of the big-endian words from
0x200 to the end; the ROM end address (long at 0x1A4) is size - 1.
"""

import sys

SIZE = 0x2000

rom = bytearray(open(sys.argv[1], "rb").read())
if len(rom) > SIZE:
    sys.exit(f"{sys.argv[1]}: {len(rom)} bytes, more than the {SIZE} this probe is padded to")
rom += b"\xff" * (SIZE - len(rom))
rom[0x1A4:0x1A8] = (SIZE - 1).to_bytes(4, "big")
total = sum(int.from_bytes(rom[i : i + 2], "big") for i in range(0x200, SIZE, 2))
rom[0x18E:0x190] = (total & 0xFFFF).to_bytes(2, "big")
open(sys.argv[2], "wb").write(rom)
