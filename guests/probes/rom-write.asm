; rom-write probe: checks that the firmware's high copy (ending at 4 GiB) is read-only.
; Entered from the reset vector in real mode with CS base 0xFFFF0000, so CS-relative offsets
; are offsets into this 64 KiB image mapped at 0xFFFF0000. It writes the complement of a known
; byte through CS, reads it back, reports on the 0x402 debug console, then exits through
; isa-debug-exit (port 0xF4). The VMM must trap the write, drop it, and report it.
bits 16
org 0

DEBUGCON equ 0x402
DEBUG_EXIT equ 0xf4

start:
    mov al, [cs:target]
    mov bl, al
    not al
    mov [cs:target], al          ; must trap (read-only slot) and change nothing
    mov al, [cs:target]
    cmp al, bl
    jne .changed
    mov si, msg_unchanged
    jmp .print
.changed:
    mov si, msg_changed
.print:
    mov dx, DEBUGCON
.next:
    mov al, [cs:si]
    test al, al
    jz .done
    out dx, al
    inc si
    jmp .next
.done:
    xor al, al
    out DEBUG_EXIT, al
.halt:
    cli
    hlt
    jmp .halt

msg_unchanged: db "rom-write: unchanged", 10, 0
msg_changed:   db "rom-write: changed", 10, 0
align 16
target: db 0xa5

times 0xfff0 - ($ - $$) db 0
reset_vector:
    jmp start
times 0x10000 - ($ - $$) db 0
