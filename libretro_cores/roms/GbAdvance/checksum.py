"""Finish a Game Boy Advance ROM: pad it and fill in the header complement.

usage: checksum.py IN OUT

The complement byte (0xBD) makes the bytes 0xA0-0xBC plus 0x19 plus
itself sum to 0 modulo 256.
"""

import sys

SIZE = 0x1000

rom = bytearray(open(sys.argv[1], "rb").read())
if len(rom) > SIZE:
    sys.exit(f"{sys.argv[1]}: {len(rom)} bytes, more than the {SIZE} this probe is padded to")
rom += b"\x00" * (SIZE - len(rom))
rom[0xBD] = -(sum(rom[0xA0:0xBD]) + 0x19) & 0xFF
open(sys.argv[2], "wb").write(rom)
