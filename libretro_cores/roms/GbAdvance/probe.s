@ Game Boy Advance input probe (ARM7TDMI, ARM mode, GNU as syntax).
@
@ Every frame, at the start of vertical blank, it reads KEYINPUT, stores
@ what is held in work RAM, lights one block per button on screen and
@ sounds a tone while anything is held. See README.md.

        .equ    PAD,     0x02000000     @ halfword: held buttons (1 = held), KEYINPUT order:
                                        @ A B Select Start Right Left Up Down R L from bit 0
        .equ    FRAMES,  0x02000004     @ word: frames seen
        .equ    IO,      0x04000000
        .equ    VRAM,    0x06000000
        .equ    MAP,     0x0600F800     @ background 0 map (screen block 31)
        .equ    PALETTE, 0x05000000
        .equ    LIT,     0x7FFF         @ BGR555 white: held
        .equ    DARK,    0x2108         @ grey: released
        .equ    BLOCKS,  10

        .arm
        .text
        .global _start
_start:
        b       start                   @ 0x00: entry (mGBA checks for a branch here)
        .fill   0x9C, 1, 0              @ 0x04: logo area, left blank (no BIOS runs it)
        .ascii  "INPUT PROBE "          @ 0xA0: title
        .ascii  "ZRTP"                  @ 0xAC: game code
        .ascii  "00"                    @ 0xB0: maker
        .byte   0x96                    @ 0xB2: fixed value
        .byte   0, 0                    @ 0xB3: unit, device type
        .fill   7, 1, 0
        .byte   0                       @ 0xBC: version
        .byte   0                       @ 0xBD: header complement (checksum.py)
        .hword  0

@ 0xC0. Not a branch: mGBA would take a branch here for a multiboot image
@ and copy the ROM into work RAM, over the probe value.
start:
        mov     r0, #IO
        mov     r1, #0x80               @ sound on (SOUNDCNT_X first: the rest is ignored while off)
        strh    r1, [r0, #0x84]
        mov     r1, #0x77               @ both sides at full volume, no channel routed yet
        strh    r1, [r0, #0x80]
        mov     r1, #2                  @ tone channels at 100 %
        strh    r1, [r0, #0x82]
        ldr     r1, =0xF080             @ channel 2: 50 % duty, constant volume 15
        strh    r1, [r0, #0x68]
        ldr     r1, =0x86D6             @ ~440 Hz, restart, plays for ever
        strh    r1, [r0, #0x6C]

        mov     r1, #VRAM               @ clear the 64 KB of background VRAM
        mov     r2, #0
        mov     r3, #0x4000
1:      str     r2, [r1], #4
        subs    r3, r3, #1
        bne     1b

        ldr     r1, =VRAM + 32          @ tiles 1..10: solid colour = tile number
        ldr     r4, =0x11111111
        mov     r2, #0
        mov     r5, #BLOCKS
2:      add     r2, r2, r4
        mov     r3, #8
3:      str     r2, [r1], #4
        subs    r3, r3, #1
        bne     3b
        subs    r5, r5, #1
        bne     2b

        ldr     r1, =MAP + 2 * (32 * 10 + 5)    @ blocks on row 10, columns 5, 7, ...
        mov     r2, #1
4:      strh    r2, [r1], #4
        add     r2, r2, #1
        cmp     r2, #BLOCKS + 1
        bne     4b

        mov     r1, #PALETTE            @ backdrop black
        mov     r2, #0
        strh    r2, [r1]
        ldr     r1, =0x1F00             @ BG0: tiles at 0x06000000, map in block 31, 16 colours
        strh    r1, [r0, #0x08]
        mov     r1, #0x100              @ mode 0, BG0 on
        strh    r1, [r0]

        ldr     r9, =PAD
        mov     r1, #0
        str     r1, [r9]
        str     r1, [r9, #4]
        ldr     r7, =LIT
        ldr     r8, =DARK
        add     r10, r0, #0x100         @ KEYINPUT is at IO + 0x130

frame:
1:      ldrh    r2, [r0, #6]            @ VCOUNT: leave the current vertical blank ...
        cmp     r2, #160
        bhs     1b
2:      ldrh    r2, [r0, #6]            @ ... and wait for the next one
        cmp     r2, #160
        blo     2b

        ldrh    r2, [r10, #0x30]        @ KEYINPUT, 0 = held
        mvn     r2, r2
        mov     r2, r2, lsl #22         @ keep the ten button bits
        mov     r2, r2, lsr #22
        strh    r2, [r9]
        ldr     r1, [r9, #4]
        add     r1, r1, #1
        str     r1, [r9, #4]

        ldr     r1, =PALETTE + 2        @ colour n+1 shows bit n
        mov     r3, r2
        mov     r4, #BLOCKS
3:      movs    r3, r3, lsr #1
        movcs   r5, r7
        movcc   r5, r8
        strh    r5, [r1], #2
        subs    r4, r4, #1
        bne     3b

        cmp     r2, #0                  @ channel 2 to both sides while anything is held
        ldr     r1, =0x0077
        ldrne   r1, =0x2277
        strh    r1, [r0, #0x80]
        b       frame

        .ltorg
