"""Fill in the internal-header checksum of a LoROM image: checksum.py IN OUT.

The checksum is the 16-bit sum of every byte of the ROM; its complement sits
just before it ($FFDC: complement, $FFDE: checksum, little endian). A pair
c, c ^ 0xFFFF always adds 0x1FE to the sum, so the sum taken with the
placeholder pair 0xFFFF, 0x0000 is already the final one.
"""

import sys

HEADER = 0x7FC0  # $00:FFC0 in a LoROM file

data = bytearray(open(sys.argv[1], "rb").read())
data[HEADER + 0x1C : HEADER + 0x20] = b"\xff\xff\x00\x00"
total = sum(data) & 0xFFFF
data[HEADER + 0x1C : HEADER + 0x20] = (total ^ 0xFFFF).to_bytes(2, "little") + total.to_bytes(2, "little")
with open(sys.argv[2], "wb") as out:
    out.write(data)
