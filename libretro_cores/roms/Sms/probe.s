; Master System / Game Gear input probe (Z80, GNU as syntax).
;
; One source, two ROMs: assembled with --defsym GG=1 it is the Game Gear
; build (Start button on port 0x00, 12-bit colours, GG header), otherwise
; the Master System build (Pause button through the NMI).
;
; Every frame interrupt it reads the pad ports, stores what is held in
; work RAM, lights one block per button on screen and sounds a PSG tone
; while anything is held. See README.md.

        .ifndef GG
        .equ    GG, 0
        .endif

        .equ    PADS,   0xC000          ; byte: ~port 0xDC (P1 U D L R 1 2, P2 U D)
                                        ; byte: ~port 0xDD & 0x1F (P2 L R 1 2, Reset) | 0x20 Pause/Start
        .equ    FRAMES, 0xC002          ; byte: frame interrupts seen
        .equ    PAUSED, 0xC003          ; byte: 0x20 once the NMI (Pause) fired, until the next frame

        .equ    VDP_DATA, 0xBE
        .equ    VDP_CTRL, 0xBF
        .equ    PSG,      0x7F
        .equ    BLOCKS,   14            ; bits shown, one block each

        .if GG
        .equ    LIT_LO,  0xFF           ; GG colour words 0x0FFF (white) and 0x0444 (grey)
        .equ    LIT_HI,  0x0F
        .equ    DARK_LO, 0x44
        .equ    DARK_HI, 0x04
        .else
        .equ    LIT_LO,  0x3F           ; SMS colour bytes --BBGGRR: white and grey
        .equ    DARK_LO, 0x15
        .endif

        .text
        .org    0x0000
        di
        im      1
        ld      sp, 0xDFF0
        jp      main

        .org    0x0038                  ; IM 1: VDP frame interrupt
        jp      frame

        .org    0x0066                  ; NMI: the Master System's Pause button
        push    af
        ld      a, 0x20
        ld      (PAUSED), a
        pop     af
        retn

main:
        in      a, (VDP_CTRL)           ; reset the VDP's control latch
        ld      hl, vdp_regs
        ld      bc, ((vdp_regs_end - vdp_regs) << 8) | VDP_CTRL
        otir

        xor     a                       ; clear all 16 KB of VRAM
        out     (VDP_CTRL), a
        ld      a, 0x40
        out     (VDP_CTRL), a
        ld      bc, 0x4000
1:      xor     a
        out     (VDP_DATA), a
        dec     bc
        ld      a, b
        or      c
        jr      nz, 1b

        ld      a, 0x20                 ; tiles 1..14 at 0x0020: solid colour = tile number
        out     (VDP_CTRL), a
        ld      a, 0x40
        out     (VDP_CTRL), a
        ld      d, 1
2:      ld      e, 8                    ; eight rows of four bitplanes
3:      ld      c, d
        ld      b, 4
4:      srl     c
        sbc     a, a                    ; 0xFF where the colour has this plane's bit
        out     (VDP_DATA), a
        djnz    4b
        dec     e
        jr      nz, 3b
        inc     d
        ld      a, d
        cp      BLOCKS + 1
        jr      nz, 2b

        ld      hl, places              ; one block per bit in the name table
        ld      d, 1
5:      ld      a, (hl)
        inc     hl
        out     (VDP_CTRL), a
        ld      a, (hl)
        inc     hl
        or      0x40
        out     (VDP_CTRL), a
        ld      a, d
        out     (VDP_DATA), a
        xor     a
        out     (VDP_DATA), a
        inc     d
        ld      a, d
        cp      BLOCKS + 1
        jr      nz, 5b

        xor     a                       ; sprite list ends at the first entry
        out     (VDP_CTRL), a
        ld      a, 0x7F
        out     (VDP_CTRL), a
        ld      a, 0xD0
        out     (VDP_DATA), a

        ld      hl, psg_init            ; ~440 Hz on channel 0, everything silent
        ld      bc, ((psg_init_end - psg_init) << 8) | PSG
        otir

        ld      hl, 0
        ld      (PADS), hl
        ld      (FRAMES), hl
        ei
6:      halt
        jr      6b

; ---- frame interrupt: read, store, show, sound -------------------------
frame:
        push    af
        push    bc
        push    de
        push    hl
        in      a, (VDP_CTRL)           ; acknowledge the interrupt
        in      a, (0xDC)
        cpl
        ld      l, a
        in      a, (0xDD)
        cpl
        and     0x1F
        ld      h, a
        .if GG
        in      a, (0x00)               ; bit 7 low = Start held
        cpl
        and     0x80
        rrca
        rrca
        .else
        ld      a, (PAUSED)
        ld      b, a
        xor     a
        ld      (PAUSED), a
        ld      a, b
        .endif
        or      h
        ld      h, a
        ld      (PADS), hl

        xor     a                       ; colours from CRAM entry 0 on
        out     (VDP_CTRL), a
        ld      a, 0xC0
        out     (VDP_CTRL), a
        xor     a                       ; entry 0: black backdrop
        out     (VDP_DATA), a
        .if GG
        out     (VDP_DATA), a
        .endif
        ld      b, BLOCKS
7:      srl     h                       ; next bit of HL into carry
        rr      l
        ld      a, DARK_LO
        .if GG
        ld      e, DARK_HI
        .endif
        jr      nc, 8f
        ld      a, LIT_LO
        .if GG
        ld      e, LIT_HI
        .endif
8:      out     (VDP_DATA), a
        .if GG
        ld      a, e
        out     (VDP_DATA), a
        .endif
        djnz    7b

        ld      hl, (PADS)              ; tone while anything is held
        ld      a, l
        or      h
        ld      a, 0x9F
        jr      z, 9f
        ld      a, 0x90
9:      out     (PSG), a

        ld      hl, FRAMES
        inc     (hl)
        pop     hl
        pop     de
        pop     bc
        pop     af
        ei
        reti

; ---- data ------------------------------------------------------------
vdp_regs:                               ; value, 0x80 | register
        .byte   0x04, 0x80              ; mode 4
        .byte   0xE0, 0x81              ; display on, frame interrupt on
        .byte   0xFF, 0x82              ; name table at 0x3800
        .byte   0xFF, 0x83
        .byte   0xFF, 0x84
        .byte   0xFF, 0x85              ; sprite table at 0x3F00
        .byte   0xFF, 0x86
        .byte   0x00, 0x87              ; backdrop: sprite colour 0
        .byte   0x00, 0x88              ; no scrolling
        .byte   0x00, 0x89
        .byte   0xFF, 0x8A              ; no line interrupts
vdp_regs_end:

psg_init:
        .byte   0x8E, 0x0F, 0x9F, 0xBF, 0xDF, 0xFF
psg_init_end:

; Name-table addresses of the blocks in bit order, 0x3800 + 2 * (32 * row + column).
; Rows 8, 11, 14 and columns 8.. lie inside the Game Gear's 160x144 window.
        .macro  block row, col
        .word   0x3800 + 2 * (32 * \row + \col)
        .endm
places:
        .irp    col, 8, 10, 12, 14, 16, 18      ; P1 Up Down Left Right 1 2
        block   8, \col
        .endr
        .irp    col, 8, 10, 12, 14, 16, 18      ; P2 Up Down Left Right 1 2
        block   11, \col
        .endr
        block   14, 8                           ; Reset
        block   14, 18                          ; Pause (SMS) / Start (GG)

; ---- header --------------------------------------------------------------
        .org    0x7FF0
        .ascii  "TMR SEGA"
        .byte   0xFF, 0xFF
        .word   0                       ; checksum of 0x0000-0x7FEF (checksum.py)
        .byte   0x00, 0x00, 0x00        ; product code 0, version 0
        .if GG
        .byte   0x7C                    ; Game Gear international, 32 KB
        .else
        .byte   0x4C                    ; Master System export, 32 KB
        .endif
