; NES input probe (ca65). Reads both pads once per frame in the NMI and
; keeps what is held in RAM, on screen (one sprite block per button) and
; in the speaker (a pulse tone while anything is held). See README.md.

PAD1      = $00            ; pad 1, 1 = held: A B Select Start Up Down Left Right (bit 7..0)
PAD2      = $01            ; pad 2, same layout
bits      = $02            ; scratch: the pad being drawn
row_y     = $03            ; scratch: its sprite row
OAM_PAGE  = $0200          ; sprite table copied to the PPU every frame

PPUCTRL   = $2000
PPUMASK   = $2001
PPUSTATUS = $2002
OAMADDR   = $2003
PPUADDR   = $2006
PPUDATA   = $2007
SQ1_VOL   = $4000
SQ1_SWEEP = $4001
SQ1_LO    = $4002
SQ1_HI    = $4003
DMC_FREQ  = $4010
OAMDMA    = $4014
APU_CTRL  = $4015
JOY1      = $4016
JOY2      = $4017          ; read: pad 2; write: APU frame counter

TONE_ON   = %10111111      ; duty 50 %, length halted, constant volume 15
TONE_OFF  = %10110000      ; same, volume 0
HIDDEN_Y  = $FF            ; a sprite at this Y is off screen

.segment "HEADER"
    .byte "NES", $1A
    .byte 1                ; 16 KB PRG
    .byte 1                ; 8 KB CHR
    .byte 0, 0             ; mapper 0, horizontal mirroring, no battery
    .res 8, 0

.segment "CODE"
reset:
    sei
    cld
    ldx #$40
    stx JOY2               ; no APU frame IRQ
    ldx #$FF
    txs
    inx
    stx PPUCTRL
    stx PPUMASK
    stx DMC_FREQ
    bit PPUSTATUS
@vbl1:
    bit PPUSTATUS
    bpl @vbl1
    txa                    ; A = 0
@clear:
    sta $0000,x
    sta $0100,x
    sta $0300,x
    sta $0400,x
    sta $0500,x
    sta $0600,x
    sta $0700,x
    inx
    bne @clear
    lda #HIDDEN_Y
@hide:
    sta OAM_PAGE,x
    inx
    bne @hide
@vbl2:
    bit PPUSTATUS
    bpl @vbl2

    lda #$3F               ; all 32 palette entries
    sta PPUADDR
    lda #$00
    sta PPUADDR
    ldx #0
@pal:
    lda palette,x
    sta PPUDATA
    inx
    cpx #32
    bne @pal

    lda #$01               ; pulse 1 on, silent until a button is held
    sta APU_CTRL
    lda #TONE_OFF
    sta SQ1_VOL
    lda #$08               ; sweep off
    sta SQ1_SWEEP
    lda #$FD               ; period 253: about 440 Hz
    sta SQ1_LO
    lda #$00
    sta SQ1_HI

    lda #%10000000         ; NMI on, 8x8 sprites from pattern table 0
    sta PPUCTRL
    lda #%00010100         ; sprites on (also in the left 8 pixels), background off
    sta PPUMASK
idle:
    jmp idle

nmi:
    pha
    txa
    pha
    tya
    pha
    lda #0                 ; show the sprites built last frame
    sta OAMADDR
    lda #>OAM_PAGE
    sta OAMDMA

    lda #1                 ; latch both pads, then shift 8 bits out of each
    sta JOY1
    lda #0
    sta JOY1
    ldx #8
@read:
    lda JOY1
    lsr a
    rol PAD1
    lda JOY2
    lsr a
    rol PAD2
    dex
    bne @read

    ldx #0                 ; OAM offset
    lda PAD1
    sta bits
    lda #88
    sta row_y
    jsr draw_row
    lda PAD2
    sta bits
    lda #136
    sta row_y
    jsr draw_row

    lda PAD1
    ora PAD2
    beq @quiet
    lda #TONE_ON
    bne @tone
@quiet:
    lda #TONE_OFF
@tone:
    sta SQ1_VOL
    pla
    tay
    pla
    tax
    pla
irq:
    rti

; Eight sprites for the pad in `bits`, bit 7 first (left), at row `row_y`;
; a released button's sprite goes off screen. X: OAM offset, advanced by 32.
draw_row:
    ldy #0
@button:
    lda row_y
    asl bits
    bcs @held
    lda #HIDDEN_Y
@held:
    sta OAM_PAGE,x
    lda button_tile,y
    sta OAM_PAGE+1,x
    lda button_attr,y
    sta OAM_PAGE+2,x
    lda button_x,y
    sta OAM_PAGE+3,x
    inx
    inx
    inx
    inx
    iny
    cpy #8
    bne @button
    rts

; Per button (A B Select Start Up Down Left Right): tile (solid colour 1 or
; 2), sprite palette and column, so each button has its own colour.
button_tile: .byte 1, 1, 1, 1, 2, 2, 2, 2
button_attr: .byte 0, 1, 2, 3, 0, 1, 2, 3
button_x:    .byte 40, 64, 88, 112, 136, 160, 184, 208

palette:
    .byte $0F, $0F, $0F, $0F,  $0F, $0F, $0F, $0F,  $0F, $0F, $0F, $0F,  $0F, $0F, $0F, $0F
    .byte $0F, $16, $2A, $0F,  $0F, $12, $28, $0F,  $0F, $24, $2C, $0F,  $0F, $27, $30, $0F

.segment "VECTORS"
    .addr nmi, reset, irq

.segment "TILES"
    .res 16, $00                       ; tile 0: empty
    .res 8, $FF                        ; tile 1: solid colour 1
    .res 8, $00
    .res 8, $00                        ; tile 2: solid colour 2
    .res 8, $FF
