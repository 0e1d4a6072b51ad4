; pio-loop: the port-I/O exit benchmark guest.
;
; A 64 KiB flat image meant to be mapped so that it ends at 4 GiB (like a firmware image) and
; entered from the architectural reset state (real mode, CS base 0xFFFF0000, IP 0xFFF0). Because
; CS keeps its reset base, image offset X is reachable as CS:X; the reset vector therefore does a
; near jmp (a far jmp would reload CS with base 0xF0000, which is plain RAM in the C baseline).
;
; It performs ITERATIONS writes to port 0x80 (the POST-code port: a pure exit, no device state),
; then writes 0 to port 0xF4 (QEMU isa-debug-exit: the VMM stops; QEMU exits with status 1).
; Should the VMM ignore 0xF4, the guest parks in `cli; hlt`.
;
; Build: nasm -f bin -DITERATIONS=100000 -o pio-loop.bin pio-loop.asm

%ifndef ITERATIONS
%define ITERATIONS 100000
%endif

%if ITERATIONS < 2 || ITERATIONS > 0xFFFFFFFF
%error "ITERATIONS must be in [2, 0xFFFFFFFF]: the round trip divides by ITERATIONS - 1"
%endif

POST_PORT equ 0x80
DEBUG_EXIT_PORT equ 0xF4
IMAGE_SIZE equ 0x10000
RESET_OFFSET equ 0xFFF0

bits 16
org 0

start:
    xor al, al
    mov ecx, ITERATIONS
.loop:
    out POST_PORT, al
    dec ecx
    jnz .loop

    xor al, al
    out DEBUG_EXIT_PORT, al

.park:
    cli
    hlt
    jmp .park

    times RESET_OFFSET - ($ - $$) db 0

reset_vector:
    jmp near start

    times IMAGE_SIZE - ($ - $$) db 0
