; nvram-setcks: a static x86-64 Linux executable (nasm -f bin, its own ELF header) that asks the
; kernel's nvram driver to store a valid CMOS checksum: open("/dev/nvram", O_RDWR), then
; ioctl(fd, NVRAM_SETCKS) (include/uapi/linux/nvram.h: _IO('p', 0x41); CAP_SYS_ADMIN, which the
; probe's init has). Exit status 0 on success, else the errno of the call that failed.
; Why: Linux's /dev/nvram refuses reads and writes (EIO) while the checksum of CMOS bytes
; 0x10-0x2D, stored at 0x2E-0x2F, does not match. QEMU's `pc` fills those bytes without storing a
; checksum, so on QEMU the probe could not keep its boot count; the probe runs this only when a
; read was refused, and reports that it did. busybox has no ioctl applet, and the cloud kernel has
; no /dev/port to reach the CMOS another way.

BITS 64
BASE equ 0x400000
NVRAM_SETCKS equ 0x7041
SYS_OPEN equ 2
SYS_IOCTL equ 16
SYS_EXIT equ 60
O_RDWR equ 2

        org BASE
ehdr:                                   ; Elf64_Ehdr
        db 0x7f, 'ELF', 2, 1, 1, 0      ; 64-bit, little-endian, version 1, System V ABI
        times 8 db 0
        dw 2                            ; e_type: ET_EXEC
        dw 0x3e                         ; e_machine: x86-64
        dd 1                            ; e_version
        dq start                        ; e_entry
        dq phdr - ehdr                  ; e_phoff
        dq 0                            ; e_shoff: no sections
        dd 0                            ; e_flags
        dw ehdr_size                    ; e_ehsize
        dw phdr_size                    ; e_phentsize
        dw 1                            ; e_phnum
        dw 0, 0, 0                      ; e_shentsize, e_shnum, e_shstrndx
ehdr_size equ $ - ehdr

phdr:                                   ; Elf64_Phdr: the whole file, loaded read + execute
        dd 1                            ; p_type: PT_LOAD
        dd 5                            ; p_flags: R + X
        dq 0                            ; p_offset
        dq BASE                         ; p_vaddr
        dq BASE                         ; p_paddr
        dq file_size                    ; p_filesz
        dq file_size                    ; p_memsz
        dq 0x1000                       ; p_align
phdr_size equ $ - phdr

start:
        mov eax, SYS_OPEN
        lea rdi, [rel path]
        mov esi, O_RDWR
        xor edx, edx
        syscall
        test eax, eax
        js .exit                        ; -errno from open
        mov edi, eax
        mov eax, SYS_IOCTL
        mov esi, NVRAM_SETCKS
        xor edx, edx
        syscall                         ; 0, or -errno
.exit:
        neg eax                         ; exit status: errno, or 0
        mov edi, eax
        mov eax, SYS_EXIT
        syscall

path:   db '/dev/nvram', 0

file_size equ $ - ehdr
