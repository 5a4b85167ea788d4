; Game Boy / Game Boy Color input probe (SM83 "gbz80", GNU as syntax).
;
; One source, two ROMs: assembled with --defsym GBC=1 it is the Color
; build (header flag 0x80 so the core runs in colour mode, a colour
; palette), otherwise the original Game Boy build.
;
; Every vertical blank it reads the joypad register, stores what is held
; in work RAM, shows one block per button on screen and sounds a tone
; while anything is held. See README.md.

        .ifndef GBC
        .equ    GBC, 0
        .endif

        .equ    PAD,    0xC000          ; byte: held buttons (1 = held)
                                        ; A B Select Start Right Left Up Down from bit 0
        .equ    FRAMES, 0xC001          ; byte: vertical blanks seen

        .equ    P1,   0x00              ; high-page registers, for ldh
        .equ    IF,   0x0F
        .equ    NR21, 0x16
        .equ    NR22, 0x17
        .equ    NR23, 0x18
        .equ    NR24, 0x19
        .equ    NR50, 0x24
        .equ    NR51, 0x25
        .equ    NR52, 0x26
        .equ    LCDC, 0x40
        .equ    LY,   0x44
        .equ    BGP,  0x47
        .equ    VBK,  0x4F
        .equ    BCPS, 0x68
        .equ    BCPD, 0x69
        .equ    IE,   0xFF
        .equ    ROW,  0x9800 + 32 * 8 + 2 ; background map: first block, row 8 column 2

        .text
        .org    0x0040                  ; vertical blank interrupt
        jp      vblank

        .org    0x0100                  ; entry point
        nop
        jp      start

        .org    0x0134                  ; header (the logo at 0x104 is left blank:
        .ascii  "INPUT PROBE"           ; no boot ROM runs under the cores)
        .org    0x0143
        .if GBC
        .byte   0x80                    ; colour features
        .else
        .byte   0x00
        .endif
        .byte   0x00, 0x00              ; new licensee
        .byte   0x00                    ; no Super Game Boy functions
        .byte   0x00                    ; ROM only
        .byte   0x00                    ; 32 KB
        .byte   0x00                    ; no cartridge RAM
        .byte   0x01                    ; overseas
        .byte   0x33                    ; licensee: see 0x144
        .byte   0x00                    ; version
        .byte   0x00                    ; header checksum (checksum.py)
        .word   0                       ; global checksum (checksum.py)

        .org    0x0150
start:
        di
        ld      sp, 0xFFFE
1:      ldh     a, (LY)                 ; the LCD may only be switched off in vertical blank
        cp      144
        jr      c, 1b
        xor     a
        ldh     (LCDC), a

        .if GBC
        ld      a, 1                    ; clear the attribute bank too
        ldh     (VBK), a
        call    clear_vram
        xor     a
        ldh     (VBK), a
        .endif
        call    clear_vram

        ld      hl, 0x8010              ; tile 1: colour 3 (held)
        ld      b, 16
        ld      a, 0xFF
2:      ld      (hl+), a
        dec     b
        jr      nz, 2b
        ld      b, 8                    ; tile 2: colour 1 (released)
3:      ld      a, 0xFF
        ld      (hl+), a
        xor     a
        ld      (hl+), a
        dec     b
        jr      nz, 3b

        ld      a, 0xE4                 ; monochrome shades 0-3: white to black
        ldh     (BGP), a
        .if GBC
        ld      a, 0x80                 ; colour palette 0, auto-increment
        ldh     (BCPS), a
        ld      hl, colours
        ld      b, 8
4:      ld      a, (hl+)
        ldh     (BCPD), a
        dec     b
        jr      nz, 4b
        .endif

        ld      a, 0x80                 ; sound on; channel 2 plays ~440 Hz for ever,
        ldh     (NR52), a               ; NR51 routes it out only while a button is held
        ld      a, 0x77
        ldh     (NR50), a
        xor     a
        ldh     (NR51), a
        ld      a, 0x80
        ldh     (NR21), a
        ld      a, 0xF0
        ldh     (NR22), a
        ld      a, 0xD6
        ldh     (NR23), a
        ld      a, 0x86
        ldh     (NR24), a

        xor     a
        ld      (PAD), a
        ld      (FRAMES), a
        ld      a, 0x91                 ; LCD on, tiles at 0x8000, map at 0x9800
        ldh     (LCDC), a
        xor     a
        ldh     (IF), a
        inc     a
        ldh     (IE), a                 ; vertical blank interrupt only
        ei
5:      halt
        nop
        jr      5b

clear_vram:
        ld      hl, 0x8000
        ld      bc, 0x2000
1:      xor     a
        ld      (hl+), a
        dec     bc
        ld      a, b
        or      c
        jr      nz, 1b
        ret

; ---- vertical blank: read, store, show, sound --------------------------
vblank:
        push    af
        push    bc
        push    de
        push    hl
        ld      a, 0x20                 ; select the d-pad (P14 low)
        ldh     (P1), a
        ldh     a, (P1)
        ldh     a, (P1)
        cpl
        and     0x0F                    ; Right Left Up Down
        swap    a
        ld      b, a
        ld      a, 0x10                 ; select the buttons (P15 low)
        ldh     (P1), a
        ldh     a, (P1)
        ldh     a, (P1)
        ldh     a, (P1)
        ldh     a, (P1)
        cpl
        and     0x0F                    ; A B Select Start
        or      b
        ld      (PAD), a
        ld      e, a
        ld      a, 0x30                 ; deselect both
        ldh     (P1), a

        ld      hl, ROW                 ; eight blocks, every other column
        ld      c, 8
1:      ld      a, 2
        srl     e
        jr      nc, 2f
        ld      a, 1
2:      ld      (hl+), a
        inc     hl
        dec     c
        jr      nz, 1b

        ld      a, (PAD)
        or      a
        jr      z, 3f
        ld      a, 0x22                 ; channel 2 to both speakers
3:      ldh     (NR51), a

        ld      hl, FRAMES
        inc     (hl)
        pop     hl
        pop     de
        pop     bc
        pop     af
        reti

        .if GBC
colours:                                ; BGR555: white, light grey, dark grey, red
        .word   0x7FFF, 0x5294, 0x294A, 0x001F
        .endif

        .org    0x7FFF
        .byte   0
