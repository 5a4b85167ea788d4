; Atari 2600 input probe (dasm). Every frame, right after VSYNC, it reads
; both joysticks and the console switches, keeps what is held in RAM,
; draws one band per input (a coloured block while it is held) and plays a
; tone on channel 0 while anything is held. See README.md.

        processor 6502

VSYNC   = $00
VBLANK  = $01
WSYNC   = $02
COLUPF  = $08
COLUBK  = $09
CTRLPF  = $0A
PF0     = $0D
PF1     = $0E
PF2     = $0F
AUDC0   = $15
AUDF0   = $17
AUDV0   = $19
INPT4   = $0C              ; bit 7 = 0: left joystick fire held
INPT5   = $0D              ; bit 7 = 0: right joystick fire held
SWCHA   = $0280            ; bits 7-4 left joystick R L D U, 3-0 right; 0 = held
SWCHB   = $0282            ; bit 0 Reset, bit 1 Select (0 = held), 3 colour, 6-7 difficulty
TIM64T  = $0296
INTIM   = $0284

BANDS   = 12               ; inputs drawn, one band of 16 lines each

        seg.u ram
        org $80
p0      ds 1               ; $80 left joystick, 1 = held: Right Left Down Up - - - Fire (bit 7..0)
p1      ds 1               ; $81 right joystick, same layout
console ds 1               ; $82 console switches, 1 = held: bit 0 Reset, bit 1 Select
swchb   ds 1               ; $83 SWCHB as read (difficulty and colour switches too)
band    ds BANDS           ; playfield byte of each band

        seg code
        org $F000
reset:
        sei
        cld
        ldx #$FF
        txs
        lda #0
clear:
        sta $00,x          ; TIA registers and RAM
        dex
        bne clear
        sta $00
        lda #4             ; pure tone, about 930 Hz, silent until something is held
        sta AUDC0
        lda #16
        sta AUDF0

frame:
        lda #2
        sta VBLANK
        sta VSYNC
        sta WSYNC
        sta WSYNC
        sta WSYNC
        lda #0
        sta VSYNC
        lda #43            ; the rest of the 37 vblank lines
        sta TIM64T

        lda SWCHA          ; left joystick: high nibble
        eor #$FF
        and #$F0
        bit INPT4
        bmi nofire0
        ora #1
nofire0:
        sta p0
        lda SWCHA          ; right joystick: low nibble
        eor #$FF
        asl
        asl
        asl
        asl
        bit INPT5
        bmi nofire1
        ora #1
nofire1:
        sta p1
        lda SWCHB
        sta swchb
        eor #$FF
        and #3
        sta console

        ora p0             ; tone while anything is held
        ora p1
        beq quiet
        lda #8
quiet:
        sta AUDV0

        ldx #0             ; band bytes: left Up Down Left Right Fire, then
        lda p0             ; right Up Down Left Right Fire, then Select, Reset
        jsr stick
        lda p1
        jsr stick
        lda console
        lsr
        jsr bit_band       ; Select (bit 1)
        lda console
        jsr bit_band       ; Reset (bit 0)

wait_vblank:
        lda INTIM
        bne wait_vblank
        sta WSYNC
        sta VBLANK         ; picture on (A = 0)

        ldx #0             ; 12 bands x 16 lines = 192 lines
draw:
        lda band,x
        sta WSYNC
        sta PF1
        lda colours,x
        sta COLUPF
        ldy #13
lines:
        sta WSYNC
        dey
        bne lines
        lda #0
        sta WSYNC
        sta PF1
        sta WSYNC
        inx
        cpx #BANDS
        bne draw

        lda #2             ; 30 lines of overscan
        sta VBLANK
        ldx #30
overscan:
        sta WSYNC
        dex
        bne overscan
        jmp frame

; A = joystick byte: band bytes for Up Down Left Right (bits 4-7), then Fire (bit 0).
stick:
        tay
        lsr
        lsr
        lsr
        lsr
        jsr bit_band       ; Up
        jsr bit_band       ; Down
        jsr bit_band       ; Left
        jsr bit_band       ; Right
        tya
        jmp bit_band       ; Fire

; Band byte at X from bit 0 of A ($FF: held); returns A shifted right, X + 1.
bit_band:
        lsr
        pha
        lda #0
        bcc .off
        lda #$FF
.off:
        sta band,x
        inx
        pla
        rts

colours:                   ; per band: left Up Down Left Right Fire, right ..., Select, Reset
        .byte $44, $C6, $86, $1C, $0E
        .byte $44, $C6, $86, $1C, $0E
        .byte $66, $F8

        org $FFFC
        .word reset
        .word reset
