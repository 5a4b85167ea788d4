; PC Engine input probe (ca65, HuC6280). In the VDC's vblank interrupt it
; scans the pads (through the multitap the core always emulates), keeps
; what is held in RAM, shows one coloured block per button and plays a
; tone on PSG channel 0 while anything is held. See README.md.

.setcpu "huc6280"

.zeropage                  ; logical $2000 = work RAM offset 0
PAD1:  .res 1              ; pad 1, 1 = held: Left Down Right Up Run Select II I (bit 7..0)
PAD2:  .res 1              ; pad 2, same layout
EXT1:  .res 1              ; pad 1 in 6-button mode: VI V IV III (bit 3..0)
EXT2:  .res 1              ; pad 2 in 6-button mode
dirs:  .res 1              ; scratch
held:  .res 1
bits:  .res 2
scans: .res 1

; I/O page (MPR0 = $FF). The VDC sits at $0000-$0003, inside what ca65
; would take for zero page, so those accesses are forced absolute (a:).
VDC_REG     = $0000        ; write: register number; read: status
VDC_LO      = $0002
VDC_HI      = $0003
VCE_CTRL    = $0400
VCE_ADDR_LO = $0402
VCE_ADDR_HI = $0403
VCE_DATA_LO = $0404
VCE_DATA_HI = $0405
PSG_CH      = $0800
PSG_VOL     = $0801
PSG_FREQ_LO = $0802
PSG_FREQ_HI = $0803
PSG_CTRL    = $0804
PSG_BAL     = $0805
PSG_WAVE    = $0806
TIMER_CTRL  = $0C01
JOYPAD      = $1000        ; write: bit 0 SEL, bit 1 CLR; read: bits 0-3, 0 = held
IRQ_DISABLE = $1402
IRQ_STATUS  = $1403

SOLID   = $0100            ; tile at VRAM $1000: solid colour 1
BLANK   = $0101            ; tile at VRAM $1010: empty (palette 0)
TONE_ON = $9A              ; channel on, volume 26
TONE_OFF= $80              ; channel on, volume 0

.macro vdc_write reg, value   ; a VDC register from constants
    st0 #reg
    st1 #<(value)
    st2 #>(value)
.endmacro

.code
reset:
    sei
    csh                    ; 7.16 MHz
    cld
    lda #$FF
    tam #$01               ; MPR0: I/O
    lda #$F8
    tam #$02               ; MPR1: work RAM
    ldx #$FF
    txs
    lda #$07
    sta IRQ_DISABLE        ; no interrupts during set-up
    stz TIMER_CTRL
    stz IRQ_STATUS
    ldx #0
@clear:
    stz <$00,x
    inx
    bne @clear

    vdc_write $05, $0000   ; CR: display off, no interrupts, +1 increment
    ldx #0
@vdc:
    lda vdc_setup,x
    sta a:VDC_REG
    lda vdc_setup+1,x
    sta a:VDC_LO
    lda vdc_setup+2,x
    sta a:VDC_HI
    inx
    inx
    inx
    cpx #vdc_setup_end - vdc_setup
    bne @vdc
    stz VCE_CTRL           ; 5.37 MHz dot clock: 256 pixels wide

    stz VCE_ADDR_LO        ; palettes 0-12: colour 0 black, colour 1 the button's
    stz VCE_ADDR_HI
    ldx #0
@palette:
    stz VCE_DATA_LO
    stz VCE_DATA_HI
    lda colours,x
    sta VCE_DATA_LO
    lda colours+1,x
    sta VCE_DATA_HI
    ldy #14
@rest:
    stz VCE_DATA_LO
    stz VCE_DATA_HI
    dey
    bne @rest
    inx
    inx
    cpx #colours_end - colours
    bne @palette

    vdc_write $00, $0000   ; whole 32x32 map blank
    st0 #$02
    ldy #4
    ldx #0
@map:
    st1 #<BLANK
    st2 #>BLANK
    inx
    bne @map
    dey
    bne @map
    vdc_write $00, $1000   ; the solid tile, then the empty one
    st0 #$02
    ldx #0
@tiles:
    lda #$FF               ; rows 0-7 of the solid tile: plane 0 set
    cpx #8
    bcc @plane
    lda #$00
@plane:
    sta a:VDC_LO
    st2 #$00
    inx
    cpx #32
    bne @tiles

    stz PSG_CH             ; PSG channel 0: a square wave, silent for now
    lda #$FF
    sta PSG_VOL
    sta PSG_BAL
    lda #$40               ; DDA on then off: restart the waveform index
    sta PSG_CTRL
    stz PSG_CTRL
    ldx #0
@wave:
    lda #$1F
    cpx #16
    bcc @sample
    lda #$00
@sample:
    sta PSG_WAVE
    inx
    cpx #32
    bne @wave
    lda #$FE               ; 3.58 MHz / 32 / 254: about 440 Hz
    sta PSG_FREQ_LO
    stz PSG_FREQ_HI
    lda #TONE_OFF
    sta PSG_CTRL

    vdc_write $05, $0088   ; CR: background on, vblank interrupt on
    lda #$05
    sta IRQ_DISABLE        ; only the VDC interrupt
    cli
idle:
    bra idle

vdc_irq:
    pha
    phx
    phy
    lda a:VDC_REG          ; status read: acknowledges the interrupt
    stz PAD1
    stz PAD2
    stz EXT1
    stz EXT2
    lda #2                 ; two scans: a 6-button pad answers its two halves
    sta scans              ; on alternate scans
@scan:
    jsr read_pads
    dec scans
    bne @scan

    vdc_write $00, 10 * 32 + 4   ; pad 1 on map row 10
    st0 #$02
    lda PAD1
    ldy EXT1
    jsr draw_row
    vdc_write $00, 16 * 32 + 4   ; pad 2 on map row 16
    st0 #$02
    lda PAD2
    ldy EXT2
    jsr draw_row

    lda PAD1
    ora PAD2
    ora EXT1
    ora EXT2
    beq @quiet
    lda #TONE_ON
    bra @tone
@quiet:
    lda #TONE_OFF
@tone:
    sta PSG_CTRL
    ply
    plx
    pla
other_irq:
    rti

; One scan of pads 1 and 2. CLR high with SEL high points the multitap at
; pad 1; each SEL rise moves on to the next pad. SEL high reads the
; directions, SEL low the buttons. A 6-button pad's second half reports all
; four directions low; its buttons are then III IV V VI.
read_pads:
    lda #$01
    sta JOYPAD
    lda #$03
    sta JOYPAD
    ldx #0
@pad:
    lda #$01
    sta JOYPAD
    nop
    nop
    lda JOYPAD
    and #$0F
    sta dirs
    stz JOYPAD
    nop
    nop
    lda JOYPAD
    and #$0F
    eor #$0F               ; 1 = held
    ldy dirs
    beq @extra
    sta held
    lda dirs
    eor #$0F
    asl a
    asl a
    asl a
    asl a
    ora held
    sta PAD1,x
    bra @next
@extra:
    sta EXT1,x
@next:
    inx
    cpx #2
    bne @pad
    rts

; Map entries for one pad: A = main byte, Y = 6-button byte, bit 0 first;
; button k gets palette k + 1, with an empty tile after each block.
draw_row:
    sta bits
    sty bits+1
    ldx #1
@button:
    lsr bits+1
    ror bits
    bcc @off
    txa
    asl a
    asl a
    asl a
    asl a
    ora #>SOLID
    ldy #<SOLID
    bra @put
@off:
    lda #>BLANK
    ldy #<BLANK
@put:
    sty a:VDC_LO
    sta a:VDC_HI
    st1 #<BLANK
    st2 #>BLANK
    inx
    cpx #13
    bne @button
    rts

; VDC registers for a 256x240 picture with a 32x32 map (number, low, high).
vdc_setup:
    .byte $07, $00, $00    ; BXR: no scroll
    .byte $08, $00, $00    ; BYR
    .byte $09, $00, $00    ; MWR: 32x32 map
    .byte $0A, $02, $02    ; HSR
    .byte $0B, $1F, $04    ; HDR: 32 tiles wide
    .byte $0C, $02, $0F    ; VSR
    .byte $0D, $EF, $00    ; VDR: 240 lines
    .byte $0E, $03, $00    ; VCR
    .byte $0F, $00, $00    ; DCR: no DMA
vdc_setup_end:

; Colour 1 of palettes 0-12 (9-bit GRB); palette k + 1 is button k's:
; I II Select Run Up Right Down Left III IV V VI.
colours:
    .word $000
    .word $038, $1C0, $0DB, $1FF, $007, $03F
    .word $1F8, $1C7, $138, $026, $104, $13D
colours_end:

.segment "VECTORS"
    .addr other_irq        ; IRQ2 / BRK
    .addr vdc_irq          ; IRQ1: VDC
    .addr other_irq        ; timer
    .addr other_irq        ; NMI
    .addr reset
