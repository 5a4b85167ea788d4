| Genesis / Mega Drive input probe (68000, GNU as syntax).
|
| Every vertical blank it reads both 6-button pads, stores what is held
| as a word per pad in work RAM, lights one block per button on screen
| and sounds a PSG tone while anything is held. See README.md.

        .equ    PAD1,   0xFF0000        | word: held buttons of pad 1 (1 = held)
        .equ    PAD2,   0xFF0002        | word: held buttons of pad 2
        .equ    FRAMES, 0xFF0004        | word: vertical blanks seen

        .equ    VDP_DATA, 0xC00000
        .equ    VDP_CTRL, 0xC00004
        .equ    PSG,      0xC00011
        .equ    IO_VER,   0xA10001
        .equ    IO_DATA1, 0xA10003
        .equ    IO_DATA2, 0xA10005
        .equ    IO_CTRL1, 0xA10009
        .equ    IO_CTRL2, 0xA1000B
        .equ    TMSS,     0xA14000

        .equ    LIT,  0x0EEE            | colour of a held button (white)
        .equ    DARK, 0x0444            | colour of a released one (grey)

        .text
| ---- 68000 vectors -------------------------------------------------
        .long   0x00FFFE00              | initial stack
        .long   start                   | reset
        .rept   28
        .long   ignore                  | bus/address errors, traps, spurious, levels 1-5
        .endr
        .long   vblank                  | level 6: VDP vertical interrupt
        .long   ignore                  | level 7
        .rept   32
        .long   ignore                  | TRAP #n and reserved
        .endr

| ---- cartridge header at 0x100 (checksum filled in by checksum.py) ---
        .org    0x100
        .ascii  "SEGA MEGA DRIVE "
        .ascii  "(C)RTL  2024.JAN"
        .ascii  "RETROTOOL INPUT PROBE"
        .org    0x150, 0x20
        .ascii  "RETROTOOL INPUT PROBE"
        .org    0x180, 0x20
        .ascii  "GM 00000000-00"
        .word   0                       | checksum (checksum.py)
        .ascii  "J6"                    | 6-button pad
        .org    0x1A0, 0x20
        .long   0, 0                    | ROM start, end (checksum.py)
        .long   0xFF0000, 0xFFFFFF      | RAM
        .org    0x1F0, 0x20
        .ascii  "JUE"
        .org    0x200, 0x20

| ---- code ------------------------------------------------------------
start:
        move.w  #0x2700, sr             | no interrupts during setup
        move.b  IO_VER, d0              | TMSS: later consoles need "SEGA"
        andi.b  #0x0F, d0
        beq.s   1f
        move.l  #0x53454741, TMSS
1:
        lea     VDP_CTRL, a1
        lea     VDP_DATA, a0
        tst.w   (a1)                    | reset the VDP's command latch
        lea     vdp_regs(pc), a2
        moveq   #(vdp_regs_end - vdp_regs) / 2 - 1, d1
2:      move.w  (a2)+, (a1)
        dbra    d1, 2b

        move.l  #0x40000000, (a1)       | clear all 64 KB of VRAM
        moveq   #0, d0
        move.w  #0x3FFF, d1
3:      move.l  d0, (a0)
        dbra    d1, 3b

        move.l  #0x40200000, (a1)       | tiles 1..12: solid colour index = tile number
        move.l  #0x11111111, d2
        moveq   #11, d1
4:      add.l   d2, d0
        moveq   #7, d3
5:      move.l  d0, (a0)
        dbra    d3, 5b
        dbra    d1, 4b

        lea     places(pc), a2          | one block per button: pad 1 row 12, pad 2 row 16
        moveq   #0, d1                  | name entry: palette line (pad) | tile
6:      move.w  (a2)+, d0
        beq.s   7f
        addq.w  #1, d1
        move.w  d0, d2                  | VRAM address -> command longword
        andi.w  #0x3FFF, d2
        ori.w   #0x4000, d2
        swap    d2
        move.w  d0, d2
        rol.w   #2, d2
        andi.w  #3, d2
        move.l  d2, (a1)
        move.w  d1, (a0)
        cmpi.w  #12, d1                 | after pad 1's twelve: palette line 1
        bne.s   6b
        move.w  #0x2000, d1
        bra.s   6b
7:
        move.b  #0x40, IO_CTRL1         | TH is an output on both ports, idle high
        move.b  #0x40, IO_CTRL2
        move.b  #0x40, IO_DATA1
        move.b  #0x40, IO_DATA2

        lea     PSG, a2                 | tone ~440 Hz on channel 0, all channels silent
        move.b  #0x8E, (a2)
        move.b  #0x0F, (a2)
        move.b  #0x9F, (a2)
        move.b  #0xBF, (a2)
        move.b  #0xDF, (a2)
        move.b  #0xFF, (a2)

        clr.l   PAD1
        clr.w   FRAMES
        move.w  #0x2000, sr             | vertical interrupts on
idle:   stop    #0x2000
        bra.s   idle

| ---- vertical blank: read, store, show, sound -------------------------
vblank:
        movem.l d0-d3/a0-a1, -(sp)
        lea     IO_DATA1, a0
        bsr.w   read_pad
        move.w  d0, PAD1
        lea     IO_DATA2, a0
        bsr.w   read_pad
        move.w  d0, PAD2

        lea     VDP_DATA, a0
        move.l  #0xC0020000, VDP_CTRL   | CRAM: palette line 0, colour 1
        move.w  PAD1, d0
        bsr.w   show
        move.l  #0xC0220000, VDP_CTRL   | CRAM: palette line 1, colour 1
        move.w  PAD2, d0
        bsr.w   show

        move.w  PAD1, d0
        or.w    PAD2, d0
        move.b  #0x9F, d1               | silent unless something is held
        tst.w   d0
        beq.s   1f
        move.b  #0x90, d1
1:      move.b  d1, PSG
        addq.w  #1, FRAMES
        movem.l (sp)+, d0-d3/a0-a1
ignore: rte

| Read one 6-button pad through the data port at a0 by toggling TH.
| Returns d0.w: bit 0 Up, 1 Down, 2 Left, 3 Right, 4 B, 5 C, 6 A, 7 Start,
| 8 Z, 9 Y, 10 X, 11 Mode (1 = held). A 3-button pad reads 0 in bits 8-11.
read_pad:
        move.b  #0x40, (a0)             | TH=1: ?1CBRLDU
        nop
        nop
        move.b  (a0), d0
        andi.w  #0x3F, d0
        move.b  #0x00, (a0)             | TH=0: ?0SA00DU
        nop
        nop
        move.b  (a0), d1
        andi.w  #0x30, d1
        lsl.w   #2, d1
        or.w    d1, d0
        move.b  #0x40, (a0)             | second and third TH pulses
        nop
        nop
        move.b  #0x00, (a0)
        nop
        nop
        move.b  #0x40, (a0)
        nop
        nop
        move.b  #0x00, (a0)             | TH=0: ?0SA0000 on a 6-button pad
        nop
        nop
        move.b  (a0), d2
        move.b  #0x40, (a0)             | TH=1: ?1CBMXYZ
        nop
        nop
        move.b  (a0), d1
        andi.w  #0x0F, d1
        andi.b  #0x0F, d2               | extra buttons exist only if the
        beq.s   1f                      | previous read had its low bits low
        moveq   #0x0F, d1
1:      lsl.w   #8, d1
        or.w    d1, d0
        move.b  #0x00, (a0)             | finish the cycle, back to TH=1
        nop
        nop
        move.b  #0x40, (a0)
        not.w   d0
        andi.w  #0x0FFF, d0
        rts

| Write twelve CRAM colours (auto-increment 2) for the bits of d0.w, low first.
show:
        moveq   #11, d2
1:      move.w  #DARK, d1
        lsr.w   #1, d0
        bcc.s   2f
        move.w  #LIT, d1
2:      move.w  d1, (a0)
        dbra    d2, 1b
        rts

| ---- data ------------------------------------------------------------
        .align  2
vdp_regs:
        .word   0x8004                  | mode 1: no H interrupt
        .word   0x8164                  | mode 2: display on, V interrupt on, mode 5
        .word   0x8230                  | plane A at 0xC000
        .word   0x8334                  | window at 0xD000
        .word   0x8407                  | plane B at 0xE000
        .word   0x857C                  | sprites at 0xF800
        .word   0x8700                  | backdrop: colour 0
        .word   0x8AFF
        .word   0x8B00                  | full-screen scrolling
        .word   0x8C00                  | 32 cells wide, no interlace
        .word   0x8D3F                  | H scroll table at 0xFC00
        .word   0x8F02                  | auto-increment 2
        .word   0x9000                  | 32x32 cell planes
        .word   0x9100                  | no window
        .word   0x9200
vdp_regs_end:

| Plane A addresses of the blocks in bit order (0xC000 + 2 * (32 * row + column)).
places:
        .irp    col, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26
        .word   0xC000 + 2 * (32 * 12 + \col)
        .endr
        .irp    col, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26
        .word   0xC000 + 2 * (32 * 16 + \col)
        .endr
        .word   0
