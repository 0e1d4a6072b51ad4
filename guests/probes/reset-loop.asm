; reset-loop probe: a guest that keeps resetting. From the reset vector it says so on COM1 once
; per start and asks for a hard reset through 0xCF9 (reset control register, value 0x06: reset
; type hard + reset CPU), forever: every start is the same, nothing survives a reset. A VMM must
; end such a run on its reset limit (the own VMM's --max-resets), not let it spin to the timeout.
; Entered in real mode with CS base 0xFFFF0000 (this 64 KiB image ends at 4 GiB).
bits 16
org 0

COM1 equ 0x3f8
RESET_CONTROL equ 0xcf9

start:
    mov si, msg
    mov dx, COM1
.next:
    mov al, [cs:si]
    test al, al
    jz .reset
    out dx, al
    inc si
    jmp .next
.reset:
    mov dx, RESET_CONTROL
    mov al, 0x06
    out dx, al
.halt:
    cli
    hlt
    jmp .halt

msg: db "reset-loop: start", 13, 10, 0

times 0xfff0 - ($ - $$) db 0
reset_vector:
    jmp start
times 0x10000 - ($ - $$) db 0
