; flash-romd probe: a 64 KiB pflash CODE image that checks, from inside the guest, that the VARS
; flash is mapped back as ROMD after a command. Booted as flash firmware with a VARS image of
; VARS_SIZE bytes directly below it (QEMU's pc_system_flash_map layout: CODE ends at 4 GiB).
; From the reset vector it enters 32-bit protected mode (flat segments), then:
;   1. times READS dword reads of the VARS flash in read-array mode (power-on state), after one
;      untimed pass (first touches), PASSES times, and keeps the fastest pass: `before`;
;   2. writes the CFI command 0x70 (read status register) to the VARS flash and reads the status
;      (CFI01: 0x80 = ready); times the same READS reads in that mode, PASSES times, fastest pass:
;      `trapped` (a flash out of read-array mode is no memory slot: every read is the VMM's, what a
;      read costs on this host when it traps); then 0xFF (back to read array);
;   3. times the same READS reads again the same way, after the same untimed pass: `after`.
; The fastest of PASSES passes, because a host that takes the CPU away from the vCPU during a pass
; (another VM, a busy 2-core CI machine) makes that one pass look like an exit storm: seen once on
; QEMU TCG, 21.9x for a single pass. A flash that traps is slow in every pass.
; In read-array mode the flash is a memory slot and a read costs what a memory read costs; a VMM
; that never maps the slot back after the command traps every later read (the seed's exit storm),
; so `after` costs what `trapped` costs. `trapped` is the yardstick because what a mapped read
; costs differs between hosts: on a PVM /dev/kvm about 4,000 cycles (QEMU/KVM alike), a trap to
; the VMM only 3-4x that; a few cycles where the slot is in the guest's page tables.
; The probe prints one line on the 0x402 debug console,
;   flash-romd: status SS before BBBBBBBB trapped TTTTTTTT after AAAAAAAA
; (hex; cycles from rdtsc), then exits through isa-debug-exit (port 0xF4).
bits 16
org 0
%include "flat32-rom.inc"

%ifndef VARS_SIZE
%define VARS_SIZE 0x10000
%endif
VARS_BASE equ IMAGE_BASE - VARS_SIZE
READS equ 1024                   ; one 4 KiB page of dwords
PASSES equ 8                     ; timed passes; the fastest counts
DEBUGCON equ 0x402
DEBUG_EXIT equ 0xf4

start16:
    ENTER_FLAT32 start32

bits 32
start32:
    FLAT32_DATA 0x8000           ; the stack in low RAM
    mov esi, VARS_BASE
    call time_reads              ; warm-up: the first touch of a page costs the VMM a fault
    call fastest_pass
    mov [before], eax
    mov byte [esi], 0x70         ; read status register
    mov al, [esi]
    mov [status], al
    call fastest_pass            ; still in read-status mode: every read is the VMM's
    mov [trapped], eax
    mov byte [esi], 0xff         ; read array
    call time_reads              ; the same untimed pass: a remap costs the VMM faults again
    call fastest_pass
    mov [after], eax
    mov ebx, IMAGE_BASE + msg_head
    call puts
    movzx eax, byte [status]
    mov ecx, 2
    call puthex
    mov ebx, IMAGE_BASE + msg_before
    call puts
    mov eax, [before]
    mov ecx, 8
    call puthex
    mov ebx, IMAGE_BASE + msg_trapped
    call puts
    mov eax, [trapped]
    mov ecx, 8
    call puthex
    mov ebx, IMAGE_BASE + msg_after
    call puts
    mov eax, [after]
    mov ecx, 8
    call puthex
    mov al, 10
    mov dx, DEBUGCON
    out dx, al
    xor al, al
    out DEBUG_EXIT, al
.halt:
    hlt
    jmp .halt

; eax = the fewest rdtsc cycles of PASSES time_reads passes; clobbers what time_reads does
fastest_pass:
    push dword 0xffffffff        ; [esp + 4]: the fastest pass so far
    push dword PASSES            ; [esp]: passes left
.pass:
    call time_reads
    cmp eax, [esp + 4]
    jae .slower
    mov [esp + 4], eax
.slower:
    dec dword [esp]
    jnz .pass
    add esp, 4
    pop eax
    ret

; eax = rdtsc cycles for READS dword reads from [esi], saturated at 0xffffffff (a trapped read can
; cost a million cycles); clobbers ebx, ecx, edx, edi, ebp
time_reads:
    rdtsc
    mov edi, eax
    mov ebp, edx
    mov ecx, READS
    xor ebx, ebx
.loop:
    add ebx, [esi + ecx * 4 - 4]
    dec ecx
    jnz .loop
    rdtsc
    sub eax, edi
    sbb edx, ebp
    jz .fits
    mov eax, 0xffffffff
.fits:
    ret

; print the zero-terminated string at ebx
puts:
    mov dx, DEBUGCON
.next:
    mov al, [ebx]
    test al, al
    jz .done
    out dx, al
    inc ebx
    jmp .next
.done:
    ret

; print the low ecx hex digits of eax
puthex:
    mov edx, eax
    shl ecx, 2
    ror edx, cl                  ; the first digit to print is now in the top nibble
    shr ecx, 2
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 0xf
    mov al, [IMAGE_BASE + hexdigits + eax]
    push edx
    mov dx, DEBUGCON
    out dx, al
    pop edx
    dec ecx
    jnz .digit
    ret

; results live in low RAM (the image is read-only)
before equ 0x7000
after equ 0x7004
status equ 0x7008
trapped equ 0x700c

hexdigits: db "0123456789abcdef"
msg_head: db "flash-romd: status ", 0
msg_before: db " before ", 0
msg_trapped: db " trapped ", 0
msg_after: db " after ", 0

ROM_TAIL
