; SNES input probe (ca65, 65816). The auto-joypad read fills JOY1/JOY2 at
; the start of every vblank; the NMI copies both words to RAM, shows one
; sprite block per held button and tells the sound CPU to sound a tone
; while anything is held. See README.md.

.p816

PAD1      = $0000          ; pad 1 word as JOY1 gives it, 1 = held (see README.md)
PAD2      = $0002          ; pad 2 word
bits      = $0004          ; scratch word: the pad being drawn
row_y     = $0006          ; scratch byte: its sprite row
OAM_BUF   = $0200          ; 544-byte sprite table copied to the PPU every frame
OAM_SIZE  = 544
HIDDEN_Y  = $F0            ; below the 224 visible lines

INIDISP   = $2100
OBSEL     = $2101
OAMADDL   = $2102
OAMADDH   = $2103
BGMODE    = $2105
VMAIN     = $2115
VMADDL    = $2116
VMADDH    = $2117
CGADD     = $2121
CGDATA    = $2122
TM        = $212C
APUIO0    = $2140
APUIO1    = $2141
APUIO2    = $2142
APUIO3    = $2143
NMITIMEN  = $4200
MDMAEN    = $420B
RDNMI     = $4210
HVBJOY    = $4212
JOY1L     = $4218
JOY2L     = $421A
DMAP0     = $4300
BBAD0     = $4301
A1T0L     = $4302
A1B0      = $4304
DAS0L     = $4305

.segment "CODE"
reset:
    sei
    clc
    xce                    ; native mode
    rep #$38               ; 16-bit A and index, binary arithmetic
    .a16
    .i16
    ldx #$1FFF
    txs
    lda #$0000
    tcd                    ; direct page = $0000 (WRAM)
    sep #$20
    .a8
    pha
    plb                    ; data bank 0
    lda #$80
    sta INIDISP            ; forced blank while setting up
    stz NMITIMEN

    ldx #0                 ; variables zero, every sprite off screen
@clear:
    stz $00,x
    inx
    cpx #$0200
    bne @clear
    ldx #0
    lda #HIDDEN_Y
@hide:
    sta OAM_BUF,x
    inx
    cpx #512
    bne @hide
@high:
    stz OAM_BUF,x          ; high table: small sprites, X < 256
    inx
    cpx #OAM_SIZE
    bne @high

    stz OBSEL              ; 8x8 sprites, tiles at VRAM $0000
    stz BGMODE
    lda #$10
    sta TM                 ; sprites only on the main screen

    lda #$80               ; tiles: VRAM words from $0000, +1 after the high byte
    sta VMAIN
    stz VMADDL
    stz VMADDH
    ldx #$1801             ; DMA mode 1: $2118/$2119 alternately
    stx DMAP0
    ldx #tiles
    stx A1T0L
    lda #^tiles
    sta A1B0
    ldx #tiles_end - tiles
    stx DAS0L
    lda #$01
    sta MDMAEN

    stz CGADD              ; backdrop black
    stz CGDATA
    stz CGDATA
    lda #128               ; sprite palette 0
    sta CGADD
    ldx #0
@pal:
    lda colours,x
    sta CGDATA
    inx
    cpx #colours_end - colours
    bne @pal

    jsr spc_upload

    lda #$0F
    sta INIDISP            ; display on, full brightness
    lda #$81
    sta NMITIMEN           ; NMI and auto-joypad read on
idle:
    wai
    bra idle

nmi:
    rep #$30
    .a16
    .i16
    pha
    phx
    phy
    sep #$20
    .a8
    lda RDNMI
    stz OAMADDL            ; show the sprites built last frame
    stz OAMADDH
    ldx #$0400             ; DMA mode 0 to $2104
    stx DMAP0
    ldx #OAM_BUF
    stx A1T0L
    stz A1B0
    ldx #OAM_SIZE
    stx DAS0L
    lda #$01
    sta MDMAEN
@busy:
    lda HVBJOY             ; auto-joypad read still running?
    and #$01
    bne @busy

    rep #$20
    .a16
    lda JOY1L
    sta PAD1
    lda JOY2L
    sta PAD2
    sep #$20
    .a8

    ldx #0                 ; OAM offset
    ldy PAD1
    sty bits
    lda #80
    sta row_y
    jsr draw_row
    ldy PAD2
    sty bits
    lda #128
    sta row_y
    jsr draw_row

    rep #$20
    .a16
    lda PAD1
    ora PAD2
    sep #$20
    .a8
    beq @quiet
    lda #$40               ; half volume
    bra @tone
@quiet:
    lda #$00
@tone:
    sta APUIO0             ; voice volume, for the sound CPU's loop
    rep #$30
    .a16
    ply
    plx
    pla
    rti
    .a8

irq:
    rti

; Twelve sprites for the word in `bits`, bit 15 first (left), in row
; `row_y`; a released button's sprite goes off screen. Sprite k uses tile
; k + 1, which is solid in colour k + 1. X: OAM offset, advanced by 48.
draw_row:
    ldy #0
@button:
    rep #$20
    .a16
    asl bits
    sep #$20               ; keeps the carry
    .a8
    lda row_y
    bcs @held
    lda #HIDDEN_Y
@held:
    sta OAM_BUF+1,x
    lda button_x,y
    sta OAM_BUF,x
    tya
    inc a
    sta OAM_BUF+2,x
    lda #$30               ; priority 3, palette 0, no flip
    sta OAM_BUF+3,x
    inx
    inx
    inx
    inx
    iny
    cpy #12
    bne @button
    rts

; Load the sound program through the IPL ROM's transfer protocol and start it.
spc_upload:
@ready:
    lda APUIO0
    cmp #$AA
    bne @ready
    lda APUIO1
    cmp #$BB
    bne @ready
    ldx #SPC_DEST
    stx APUIO2
    lda #$01               ; a block follows
    sta APUIO1
    lda #$CC
    sta APUIO0
@ack:
    cmp APUIO0
    bne @ack
    ldx #0
@byte:
    lda spc_code,x
    sta APUIO1
    txa                    ; low byte of the index
    sta APUIO0
@echo:
    cmp APUIO0
    bne @echo
    inx
    cpx #spc_end - spc_code
    bne @byte
    ldy #SPC_ENTRY
    sty APUIO2
    stz APUIO1             ; no more blocks: run from SPC_ENTRY
    txa
    inc a                  ; index + 1 after the last byte (never 0 here)
    sta APUIO0
@run:
    cmp APUIO0
    bne @run
    stz APUIO0             ; volume 0 until a button is held
    rts

; Column of each button, in pad-word order B Y Select Start Up Down Left
; Right A X L R.
button_x:
    .byte 24, 42, 60, 78, 96, 114, 132, 150, 168, 186, 204, 222

; Sprite palette 0 (BGR555): colour k + 1 belongs to button k.
colours:
    .word $0000
    .word $001F, $03E0, $4210, $7FFF, $7C00, $03FF
    .word $7FE0, $7C1F, $021F, $5010, $4200, $5E7F
    .word $0000, $0000, $0000
colours_end:

; Sixteen 4bpp tiles, tile n solid in colour n.
tiles:
.repeat 16, n
  .repeat 8
    .byte (n & 1) * $FF, ((n >> 1) & 1) * $FF
  .endrepeat
  .repeat 8
    .byte ((n >> 2) & 1) * $FF, ((n >> 3) & 1) * $FF
  .endrepeat
.endrepeat
tiles_end:

; Sound CPU program (SPC700 machine code; ca65 has no SPC700 mode, so the
; few instructions are spelled out as bytes). Loaded at SPC_DEST.
SPC_DEST  = $0200
SPC_ENTRY = SPC_DEST + spc_start - spc_code

.macro dsp reg, value      ; mov $F2, #reg ; mov $F3, #value
    .byte $8F, reg, $F2, $8F, value, $F3
.endmacro

spc_code:
    .word $0204, $0204     ; $0200: sample directory, entry 0 (start, loop)
    .byte $C3              ; $0204: one looping BRR block, shift 12
    .byte $77, $77, $77, $77, $99, $99, $99, $99   ; 8 samples high, 8 low
spc_start:
    dsp $6C, $20           ; FLG: no reset, no mute, echo writes off
    dsp $5C, $00           ; KOFF
    dsp $0C, $7F           ; main volume left
    dsp $1C, $7F           ; main volume right
    dsp $2C, $00           ; echo volume left
    dsp $3C, $00           ; echo volume right
    dsp $2D, $00           ; no pitch modulation
    dsp $3D, $00           ; no noise
    dsp $4D, $00           ; no echo
    dsp $5D, $02           ; sample directory at $0200
    dsp $00, $00           ; voice 0 volume left (set by the loop)
    dsp $01, $00           ; voice 0 volume right
    dsp $02, $00           ; voice 0 pitch $0400: 16 samples at 8 kHz, 500 Hz
    dsp $03, $04
    dsp $04, $00           ; voice 0 sample 0
    dsp $05, $00           ; voice 0 ADSR off: use GAIN
    dsp $07, $7F           ; voice 0 GAIN: fixed, full
    dsp $4C, $01           ; key on voice 0
spc_loop:
    .byte $E4, $F4         ; mov a, $F4         (port 0: the volume)
    .byte $8F, $00, $F2    ; mov $F2, #$00
    .byte $C4, $F3         ; mov $F3, a         (voice 0 volume left)
    .byte $8F, $01, $F2    ; mov $F2, #$01
    .byte $C4, $F3         ; mov $F3, a         (voice 0 volume right)
    .byte $2F, <(spc_loop - spc_end)   ; bra spc_loop
spc_end:

.segment "HEADER"
    .byte "RETROTOOL INPUT PROBE"   ; title, 21 bytes
    .byte $20              ; LoROM, slow ROM
    .byte $00              ; ROM only
    .byte $05              ; 32 KB
    .byte $00              ; no cartridge RAM
    .byte $01              ; North America (NTSC)
    .byte $00              ; developer id
    .byte $00              ; version
    .word $FFFF, $0000     ; checksum complement and checksum (checksum.py)

.segment "VECTORS"
    .word 0, 0             ; native mode: unused
    .word irq, irq, irq, nmi, 0, irq       ; COP BRK ABORT NMI - IRQ
    .word 0, 0             ; emulation mode: unused
    .word irq, 0, irq, irq, reset, irq     ; COP - ABORT NMI RESET IRQ/BRK
