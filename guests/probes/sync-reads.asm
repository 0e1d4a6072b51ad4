; sync-reads probe: the registers a guest polls hardest, read back to back from the boot vCPU. A VMM
; may answer them outside its device model's main loop (the own VMM's vCPU threads answer the PM
; timer from their own clock and LSR from a value the device model published), and this guest
; checks what such a shortcut must keep. A 64 KiB firmware image (ends at 4 GiB):
;   1. 32-bit flat protected mode (flat32-rom.inc), COM1 8N1 without interrupts;
;   2. the PIIX4 PM I/O block at PMBASE 0x600, through PCI configuration of 00:01.3 (PMBASE at
;      0x40, then PMREGMISC 0x80 bit 0, PMIOSE), as SeaBIOS programs it on QEMU's pc and the own VMM;
;   3. PCI configuration reads: PMBASE read back at once (0x601: what was just written, with the I/O
;      space bit), then every bus-0 function's first dword (vendor and device IDs) in two passes,
;      each folded into a checksum; the passes must agree and at least two functions be there:
;        sync-reads: pci pmbase PPPPPPPP scans AAAAAAAA BBBBBBBB present NNNNNNNN
;      (a VMM that answers CONFIG_DATA from a copy of configuration space must keep the copy current);
;   4. PM_TMR (PMBASE + 8, ACPI 6.x 4.8.3.3: 24 bits, 3.579545 MHz) READS times: every step from one
;      read to the next, modulo 2^24, must be below half the range (a step back reads as a step of
;      nearly the whole range), and the count must move. One line:
;        sync-reads: pm-timer monotonic: AAAAAAAA ticks in RRRRRRRR reads
;      or, at the first step back, and the loop ends there:
;        sync-reads: pm-timer went back at read NNNNNNNN: from XXXXXXXX to YYYYYYYY
;      or, when the count never moved:
;        sync-reads: pm-timer stuck at XXXXXXXX
;   5. LSR (COM1 + 5) once it reads THRE | TEMT (0x60: nothing received, nothing being sent), READS
;      more times, all 0x60 (this guest sends nothing meanwhile and nobody sends it anything):
;        sync-reads: lsr 00000060 in RRRRRRRR reads
;      or, at the first other value:
;        sync-reads: lsr read NNNNNNNN was XXXXXXXX
;   6. "sync-reads: done", and halts. A harness boots it with --until on that line
;      (suites/harness/sync-reads-check.ts reads the lines).
; Interrupts stay disabled; the stack at 0x8000 is low RAM.
bits 16
org 0
%include "flat32-rom.inc"

%ifndef READS
%define READS 4000
%endif
COM1 equ 0x3f8
COM1_LSR equ COM1 + 5
LSR_IDLE equ 0x60                ; THRE | TEMT, no data ready
LSR_WAIT equ 1000000             ; reads of LSR to wait for the transmitter to empty
PCI_ADDRESS equ 0xcf8
PCI_DATA equ 0xcfc
PM_FUNCTION equ 0x80000b00       ; enable bit, bus 0, device 1, function 3
PMBASE equ 0x600
PM_TMR equ PMBASE + 8
PM_MASK equ 0xffffff
PM_HALF equ 0x800000             ; a step of half the range or more is a step back

start16:
    ENTER_FLAT32 start32

bits 32
start32:
    FLAT32_DATA 0x8000
    call init_com1

    ; The PM I/O block: PMBASE first, then its decode (PMIOSE).
    mov dx, PCI_ADDRESS
    mov eax, PM_FUNCTION | 0x40
    out dx, eax
    mov dx, PCI_DATA
    mov eax, PMBASE | 1
    out dx, eax
    mov dx, PCI_ADDRESS
    mov eax, PM_FUNCTION | 0x80
    out dx, eax
    mov dx, PCI_DATA
    mov al, 1
    out dx, al

; PCI configuration: PMBASE back, then two scans of bus 0.
    mov dx, PCI_ADDRESS
    mov eax, PM_FUNCTION | 0x40
    out dx, eax
    mov dx, PCI_DATA
    in eax, dx
    push eax                     ; [esp + 12] PMBASE as read
    call pci_scan
    push ebx                     ; [esp + 8] functions present
    push eax                     ; [esp + 4] the first scan's checksum
    call pci_scan
    push eax                     ; [esp] the second's
    mov ebx, IMAGE_BASE + msg_pci
    call puts
    mov eax, [esp + 12]
    call puthex8
    mov ebx, IMAGE_BASE + msg_scans
    call puts
    mov eax, [esp + 4]
    call puthex8
    mov ebx, IMAGE_BASE + msg_space
    call puts
    mov eax, [esp]
    call puthex8
    mov ebx, IMAGE_BASE + msg_present
    call puts
    mov eax, [esp + 8]
    call puthex8
    mov ebx, IMAGE_BASE + msg_eol
    call puts
    add esp, 16

; PM_TMR: esi = the last count, edi = reads done, ebp = ticks advanced.
    mov dx, PM_TMR
    in eax, dx
    and eax, PM_MASK
    mov esi, eax
    xor edi, edi
    xor ebp, ebp
.pm_next:
    in eax, dx
    and eax, PM_MASK
    mov ecx, eax
    sub ecx, esi
    and ecx, PM_MASK             ; the step forward, modulo 2^24
    cmp ecx, PM_HALF
    jae pm_back
    add ebp, ecx
    mov esi, eax
    inc edi
    cmp edi, READS
    jb .pm_next
    test ebp, ebp
    jz pm_stuck
    mov ebx, IMAGE_BASE + msg_pm_ok
    call puts
    mov eax, ebp
    call puthex8
    mov ebx, IMAGE_BASE + msg_ticks_in
    call puts
    mov eax, edi
    call puthex8
    mov ebx, IMAGE_BASE + msg_reads_eol
    call puts
    jmp lsr_test

pm_back:
    push eax
    mov ebx, IMAGE_BASE + msg_pm_back
    call puts
    mov eax, edi
    call puthex8
    mov ebx, IMAGE_BASE + msg_from
    call puts
    mov eax, esi
    call puthex8
    mov ebx, IMAGE_BASE + msg_to
    call puts
    pop eax
    call puthex8
    mov ebx, IMAGE_BASE + msg_eol
    call puts
    jmp lsr_test

pm_stuck:
    mov ebx, IMAGE_BASE + msg_pm_stuck
    call puts
    mov eax, esi
    call puthex8
    mov ebx, IMAGE_BASE + msg_eol
    call puts

; LSR: wait until the lines above have left, then edi = reads done.
lsr_test:
    mov dx, COM1_LSR
    mov ecx, LSR_WAIT
.wait:
    in al, dx
    cmp al, LSR_IDLE
    je .idle
    dec ecx
    jnz .wait
.idle:
    xor edi, edi
.lsr_next:
    in al, dx
    cmp al, LSR_IDLE
    jne lsr_bad
    inc edi
    cmp edi, READS
    jb .lsr_next
    mov ebx, IMAGE_BASE + msg_lsr_ok
    call puts
    mov eax, LSR_IDLE
    call puthex8
    mov ebx, IMAGE_BASE + msg_in
    call puts
    mov eax, edi
    call puthex8
    mov ebx, IMAGE_BASE + msg_reads_eol
    call puts
    jmp done

lsr_bad:
    movzx esi, al
    mov ebx, IMAGE_BASE + msg_lsr_bad
    call puts
    mov eax, edi
    call puthex8
    mov ebx, IMAGE_BASE + msg_was
    call puts
    mov eax, esi
    call puthex8
    mov ebx, IMAGE_BASE + msg_eol
    call puts

done:
    mov ebx, IMAGE_BASE + msg_done
    call puts
.halt:
    hlt
    jmp .halt

; Read the first dword of every bus-0 function (devfn 0-255): eax = a checksum of them all (rotate,
; add), ebx = how many read other than all ones. Clobbers ecx, edx, edi, ebp.
pci_scan:
    xor ebp, ebp
    xor edi, edi                 ; present
    xor ecx, ecx                 ; devfn
.next:
    mov eax, ecx
    shl eax, 8
    or eax, 0x80000000
    mov dx, PCI_ADDRESS
    out dx, eax
    mov dx, PCI_DATA
    in eax, dx
    rol ebp, 5
    add ebp, eax
    cmp eax, 0xffffffff
    je .absent
    inc edi
.absent:
    inc ecx
    cmp ecx, 256
    jb .next
    mov ebx, edi
    mov eax, ebp
    ret

%include "com1.inc"

msg_pci: db "sync-reads: pci pmbase ", 0
msg_scans: db " scans ", 0
msg_space: db " ", 0
msg_present: db " present ", 0
msg_pm_ok: db "sync-reads: pm-timer monotonic: ", 0
msg_ticks_in: db " ticks in ", 0
msg_reads_eol: db " reads", 13, 10, 0
msg_pm_back: db "sync-reads: pm-timer went back at read ", 0
msg_from: db ": from ", 0
msg_to: db " to ", 0
msg_pm_stuck: db "sync-reads: pm-timer stuck at ", 0
msg_lsr_ok: db "sync-reads: lsr ", 0
msg_in: db " in ", 0
msg_lsr_bad: db "sync-reads: lsr read ", 0
msg_was: db " was ", 0
msg_eol: db 13, 10, 0
msg_done: db "sync-reads: done", 13, 10, 0

ROM_TAIL
