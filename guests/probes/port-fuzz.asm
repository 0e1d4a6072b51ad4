; port-fuzz probe: a hostile guest. A 64 KiB firmware image (ends at 4 GiB) that, seeded, throws
; OPS random accesses at the machine's devices from ring 0 and then shows the machine still works:
;   first boot (CMOS byte 0x7E is not MAGIC):
;     1. 32-bit flat protected mode (GDT in this image, accessed bits preset);
;     2. OPS operations from xorshift32(SEED), each one of:
;        - a write or read of 1, 2 or 4 bytes at a port: half from the ports the pc decodes (the
;          table below), half anywhere in 0..0xFFFF;
;        - a PCI configuration cycle: CONFIG_ADDRESS with the enable bit and a random bus 0
;          device/function/register, then a random access at CONFIG_DATA (BAR sizing and moving,
;          half-programmed BARs, decode bits, PAM and SMRAM registers);
;        - a write or read of 1, 2 or 4 bytes in an MMIO window (the legacy ROM/PAM area, the PCI
;          hole, the range up to this image, and this image itself, which must stay read-only);
;     3. COM1 set up again (LCR, MCR, IER, FCR: the fuzz scrambled them) and one line:
;          port-fuzz: seed SSSSSSSS: OOOOOOOO ops done
;     4. CMOS 0x7E = MAGIC, then a reset through 0xCF9 (0x02, then 0x06);
;   after the reset (CMOS 0x7E is MAGIC): clears it and prints
;          port-fuzz: reset came back
;     and halts. A harness boots it with --until on that line.
; Left out on purpose, because they would end the run instead of testing the VMM: accesses touching
; 0xCF9, port 0x92 (fast reset), 0xB2/0xB3 (APM: an SMI on QEMU), isa-debug-exit (0xF4, 0x501),
; i8042 commands 0xD1 and 0xF0-0xFF (output port write, reset pulses); the IOAPIC and local APIC pages (KVM's in-kernel models, where a random
; write can send INIT or NMI to the CPU: not the VMM's devices). Interrupts stay disabled.
; The fuzz loop uses no RAM (fw_cfg and IDE DMA may land anywhere): state lives in registers,
; tables in this image; the stack at 0x8000 serves only the console and reset code after it.
bits 16
org 0
%include "flat32-rom.inc"

%ifndef SEED
%define SEED 1
%endif
%ifndef OPS
%define OPS 20000
%endif
COM1 equ 0x3f8
CMOS_INDEX equ 0x70
CMOS_DATA equ 0x71
CMOS_FLAG equ 0x7e
MAGIC equ 0xb5
RESET_CONTROL equ 0xcf9

; xorshift32 on esi, result in eax: a macro, so the fuzz loop never touches the stack
%macro NEXT 0
    mov eax, esi
    shl eax, 13
    xor esi, eax
    mov eax, esi
    shr eax, 17
    xor esi, eax
    mov eax, esi
    shl eax, 5
    xor esi, eax
    mov eax, esi
%endmacro

start16:
    ENTER_FLAT32 start32

bits 32
; Register use in the fuzz loop: esi = xorshift state, edi = ops left; eax-edx, ebp scratch.
start32:
    FLAT32_DATA 0x8000           ; the stack in low RAM, used only after the fuzz (console and reset)
    mov al, CMOS_FLAG
    out CMOS_INDEX, al
    in al, CMOS_DATA
    cmp al, MAGIC
    je second_boot

    mov esi, SEED
    mov edi, OPS
fuzz_loop:
    NEXT                    ; eax = random
    mov ebp, eax
    and ebp, 7
    cmp ebp, 3
    jb op_decoded_port           ; 0-2
    cmp ebp, 5
    jb op_any_port               ; 3-4
    cmp ebp, 6
    jb op_config                 ; 5
    jmp op_mmio                  ; 6-7

; a port from the decoded table: entry = [base:16, span:16]
op_decoded_port:
    NEXT
    xor edx, edx
    mov ecx, PORT_ENTRIES
    div ecx                      ; edx = entry index
    movzx ebx, word [IMAGE_BASE + port_table + edx * 4 + 2]
    movzx ecx, word [IMAGE_BASE + port_table + edx * 4]
    NEXT
    xor edx, edx
    div ebx                      ; edx = offset within span
    add ecx, edx
    mov edx, ecx
    jmp port_access

op_any_port:
    NEXT
    movzx edx, ax
    jmp port_access

; CONFIG_ADDRESS = enable | device/function/register (bus 0), then one access at CONFIG_DATA + 0..3
op_config:
    NEXT
    and eax, 0x0000fffc
    or eax, 0x80000000
    mov dx, 0xcf8
    out dx, eax
    NEXT
    and eax, 3
    lea edx, [0xcfc + eax]
    jmp port_access

; edx = port; direction, size and value from the next random number. An access whose bytes
; touch a port in danger_ports is skipped (QEMU splits a wide access into its bytes, so a word at
; 0x63 reaches 0x64), except a 1-byte write at 0x64 that is not a reset or output-port command.
port_access:
    NEXT
    mov ebx, eax                 ; bits 0-1 size, 8-15 value byte, 29-31 direction
    and eax, 3
    movzx ecx, byte [IMAGE_BASE + size_bytes + eax]
    mov ebp, IMAGE_BASE + danger_ports
.check:
    movzx eax, word [ebp]
    cmp eax, 0xffff
    je .safe
    sub eax, edx                 ; 0 <= danger - port < size: the access touches it
    cmp eax, ecx
    jb .danger
    add ebp, 2
    jmp .check
.danger:
    cmp edx, 0x64
    jne fuzz_next
    cmp ecx, 1
    jne fuzz_next
    mov eax, ebx
    shr eax, 8
    cmp al, 0xd1
    je fuzz_next
    cmp al, 0xf0
    jae fuzz_next
.safe:
    mov eax, ebx
    shr eax, 29                  ; 0-3 and 6-7 write, 4-5 read
    cmp eax, 4
    je .read
    cmp eax, 5
    je .read
    mov eax, ebx
    shr eax, 8                   ; the value
    cmp ecx, 2
    je .ww
    ja .wd
    out dx, al
    jmp fuzz_next
.ww:
    out dx, ax
    jmp fuzz_next
.wd:
    out dx, eax
    jmp fuzz_next
.read:
    cmp ecx, 2
    je .rw
    ja .rd
    in al, dx
    jmp fuzz_next
.rw:
    in ax, dx
    jmp fuzz_next
.rd:
    in eax, dx
    jmp fuzz_next

; an MMIO window from the table: entry = [base:32, span:32]
op_mmio:
    NEXT
    xor edx, edx
    mov ecx, MMIO_ENTRIES
    div ecx
    mov ebx, [IMAGE_BASE + mmio_table + edx * 8]
    mov ecx, [IMAGE_BASE + mmio_table + edx * 8 + 4]
    NEXT
    xor edx, edx
    div ecx
    lea ebx, [ebx + edx]
    and ebx, ~3                  ; aligned: a dword access never crosses the window's end
    NEXT
    mov ecx, eax
    shr ecx, 8
    test eax, 0x10
    jnz .read
    and eax, 3
    cmp eax, 2
    je .ww
    ja .wd
    mov [ebx], cl
    jmp fuzz_next
.ww:
    mov [ebx], cx
    jmp fuzz_next
.wd:
    mov [ebx], ecx
    jmp fuzz_next
.read:
    mov ecx, [ebx]
    jmp fuzz_next

fuzz_next:
    dec edi
    jnz fuzz_loop

; The machine must still work: a console line, then a reset that comes back.
    call init_com1
    mov ebx, IMAGE_BASE + msg_seed
    call puts
    mov eax, SEED
    call puthex8
    mov ebx, IMAGE_BASE + msg_ops
    call puts
    mov eax, OPS
    call puthex8
    mov ebx, IMAGE_BASE + msg_done
    call puts
    mov al, CMOS_FLAG
    out CMOS_INDEX, al
    mov al, MAGIC
    out CMOS_DATA, al
    mov dx, RESET_CONTROL
    mov al, 0x02
    out dx, al
    mov al, 0x06
    out dx, al
.wait:
    hlt
    jmp .wait

second_boot:
    mov al, CMOS_FLAG
    out CMOS_INDEX, al
    xor al, al
    out CMOS_DATA, al
    call init_com1
    mov ebx, IMAGE_BASE + msg_back
    call puts
.halt:
    hlt
    jmp .halt

%include "com1.inc"

msg_seed: db "port-fuzz: seed ", 0
msg_ops: db ": ", 0
msg_done: db " ops done", 13, 10, 0
msg_back: db "port-fuzz: reset came back", 13, 10, 0

size_bytes: db 1, 1, 2, 4

; Ports that reset or power off the machine (0xB2/0xB3: APM control, an SMI on QEMU; 0x501: QEMU's
; default isa-debug-exit), 0xFFFF ends the list.
align 2
danger_ports: dw 0x0064, 0x0092, 0x00b2, 0x00b3, 0x00f4, 0x0501, 0x0cf9, 0xffff

; The ports the pc decodes (machine/pc-devices.ts and KVM's in-kernel PIC, PIT, ELCR), as
; [base, span]: random offsets land inside a device more often than uniform ports would.
align 4
port_table:
    dw 0x0020, 2                 ; PIC master (KVM)
    dw 0x0040, 4                 ; PIT (KVM)
    dw 0x0060, 5                 ; i8042
    dw 0x0070, 2                 ; CMOS/RTC
    dw 0x0080, 1                 ; POST code
    dw 0x00a0, 2                 ; PIC slave (KVM)
    dw 0x0170, 8                 ; IDE secondary
    dw 0x01f0, 8                 ; IDE primary
    dw 0x0376, 1
    dw 0x03f6, 1
    dw 0x03f8, 8                 ; COM1
    dw 0x0402, 1                 ; debug console
    dw 0x04d0, 2                 ; ELCR (KVM)
    dw 0x0510, 12                ; fw_cfg (selector, data, DMA address)
    dw 0x0600, 64                ; PM block, where firmware puts it (decoded once PMIOSE is set)
    dw 0x0cf8, 8                 ; PCI configuration mechanism #1 (0xCF9 is skipped)
    dw 0xafe0, 4                 ; GPE0
    dw 0xc000, 256               ; where firmware puts I/O BARs (BMDMA, test devices)
port_table_end:
PORT_ENTRIES equ (port_table_end - port_table) / 4

; MMIO windows as [base, span]; the IOAPIC (0xFEC00000) and local APIC (0xFEE00000) pages are out.
align 4
mmio_table:
    dd 0x000c0000, 0x00040000    ; legacy ROM area under PAM control
    dd 0xe0000000, 0x1ec00000    ; the PCI hole up to the IOAPIC
    dd 0xfed00000, 0x00100000    ; between the IOAPIC and the local APIC
    dd 0xfef00000, 0x010f0000    ; above the local APIC up to this image
    dd 0xffff0000, 0x00010000    ; this image: writes must change nothing
mmio_table_end:
MMIO_ENTRIES equ (mmio_table_end - mmio_table) / 8

ROM_TAIL
