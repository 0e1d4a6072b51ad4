// Linux KVM ABI for x86_64: ioctl numbers and struct offsets (include/uapi/linux/kvm.h and
// arch/x86/include/uapi/asm/kvm.h). Numbers are precomputed _IO/_IOR/_IOW values with KVMIO 0xAE.

export const KVM_GET_API_VERSION = 0xae00;
export const KVM_CREATE_VM = 0xae01;
export const KVM_CHECK_EXTENSION = 0xae03;
export const KVM_GET_VCPU_MMAP_SIZE = 0xae04;
export const KVM_GET_SUPPORTED_CPUID = 0xc008_ae05;
export const KVM_CREATE_VCPU = 0xae41;
export const KVM_SET_USER_MEMORY_REGION = 0x4020_ae46;
export const KVM_SET_TSS_ADDR = 0xae47;
export const KVM_SET_IDENTITY_MAP_ADDR = 0x4008_ae48;
export const KVM_CREATE_IRQCHIP = 0xae60;
export const KVM_IRQ_LINE = 0x4008_ae61;
export const KVM_SET_GSI_ROUTING = 0x4008_ae6a;
export const KVM_CREATE_PIT2 = 0x4040_ae77;
/** _IO(KVMIO, 0x71) with a struct kvm_reinject_control (u8 pit_reinject, u8 reserved[31]). */
export const KVM_REINJECT_CONTROL = 0xae71;
export const REINJECT_CONTROL_SIZE = 32;
export const KVM_SIGNAL_MSI = 0x4020_aea5;
export const KVM_RUN = 0xae80;
export const KVM_GET_REGS = 0x8090_ae81;
export const KVM_SET_REGS = 0x4090_ae82;
export const KVM_GET_SREGS = 0x8138_ae83;
export const KVM_SET_SREGS = 0x4138_ae84;
export const KVM_SET_CPUID2 = 0x4008_ae90;
export const KVM_SET_GUEST_DEBUG = 0x4048_ae9b;
export const KVM_GUESTDBG_ENABLE = 0x1;
export const KVM_GUESTDBG_SINGLESTEP = 0x2;
export const GUEST_DEBUG_SIZE = 72;
export const KVM_GET_IRQCHIP = 0xc208_ae62;
export const KVM_IRQCHIP_IOAPIC = 2;
/** struct kvm_irqchip: chip_id, pad, then the chip union (512 bytes); IOAPIC redirtbl at 32. */
export const IRQCHIP_SIZE = 520;
export const IOAPIC_REDIRTBL = 32;
export const KVM_GET_PIT2 = 0x8070_ae9f;
/** struct kvm_pit_state2: 3 channels of 24 bytes (count u32 at 0, mode u8 at 13), flags, reserved. */
export const PIT_STATE2_SIZE = 112;
export const KVM_GET_MP_STATE = 0x8004_ae98;
export const KVM_SET_MP_STATE = 0x4004_ae99;
/** _IOR(KVMIO, 0x8e, struct kvm_lapic_state): the 1 KiB local APIC register page. */
export const KVM_GET_LAPIC = 0x8400_ae8e;
export const LAPIC_STATE_SIZE = 1024;
/** _IOW(KVMIO, 0x8f, struct kvm_lapic_state). */
export const KVM_SET_LAPIC = 0x4400_ae8f;
/** The local APIC's interrupt request register: eight 32-bit words, one per 16 bytes (SDM vol. 3, 11.8.4). */
export const LAPIC_IRR_OFFSET = 0x200;
/** _IOWR(KVMIO, 0x85, struct kvm_translation): u64 linear, u64 physical, u8 valid, writeable, usermode, pad[5]. */
export const KVM_TRANSLATE = 0xc018_ae85;
export const TRANSLATION_SIZE = 24;
/** struct kvm_ioapic_state inside struct kvm_irqchip (after chip_id and pad): irr at 8 + 16. */
export const IOAPIC_IRR = 24;
export const IOAPIC_PINS = 24;

export const KVM_API_VERSION = 12;

// KVM_CHECK_EXTENSION capabilities the backend relies on.
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_USER_MEMORY = 3;
export const KVM_CAP_SET_TSS_ADDR = 4;
export const KVM_CAP_PIT2 = 33;
export const KVM_CAP_REINJECT_CONTROL = 24;
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
export const KVM_CAP_IRQ_ROUTING = 25;
export const KVM_CAP_SIGNAL_MSI = 77;
export const KVM_CAP_READONLY_MEM = 81;
export const KVM_CAP_IMMEDIATE_EXIT = 136;
export const KVM_CAP_NR_MEMSLOTS = 10;

export const KVM_MEM_READONLY = 1 << 1;
export const KVM_PIT_SPEAKER_DUMMY = 1;

// Exit reasons (kvm_run.exit_reason).
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_EXCEPTION = 1;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HYPERCALL = 3;
export const KVM_EXIT_DEBUG = 4;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;
export const KVM_EXIT_SYSTEM_EVENT = 24;

export const KVM_EXIT_IO_IN = 0;
export const KVM_EXIT_IO_OUT = 1;

export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_UNINITIALIZED = 1;
/** kvm_mp_state.mp_state values, by number (api.rst 4.38). */
export const MP_STATE_NAMES = ['runnable', 'uninitialized', 'init-received', 'halted', 'sipi-received', 'stopped', 'check-stop', 'operating', 'load', 'ap-reset-hold', 'suspended'] as const;

// struct kvm_run offsets.
export const RUN_IMMEDIATE_EXIT = 1;
export const RUN_EXIT_REASON = 8;
export const RUN_EXIT_INFO = 32;
// exit info: io
export const RUN_IO_DIRECTION = RUN_EXIT_INFO + 0;
export const RUN_IO_SIZE = RUN_EXIT_INFO + 1;
export const RUN_IO_PORT = RUN_EXIT_INFO + 2;
export const RUN_IO_COUNT = RUN_EXIT_INFO + 4;
export const RUN_IO_DATA_OFFSET = RUN_EXIT_INFO + 8;
// exit info: mmio
export const RUN_MMIO_PHYS_ADDR = RUN_EXIT_INFO + 0;
export const RUN_MMIO_DATA = RUN_EXIT_INFO + 8;
export const RUN_MMIO_LEN = RUN_EXIT_INFO + 16;
export const RUN_MMIO_IS_WRITE = RUN_EXIT_INFO + 20;
// exit info: internal error / fail entry / system event
export const RUN_INTERNAL_SUBERROR = RUN_EXIT_INFO + 0;
export const RUN_INTERNAL_NDATA = RUN_EXIT_INFO + 4;
export const RUN_INTERNAL_DATA = RUN_EXIT_INFO + 8;
export const RUN_SYSTEM_EVENT_TYPE = RUN_EXIT_INFO + 0;

// struct kvm_userspace_memory_region: u32 slot, u32 flags, u64 gpa, u64 size, u64 userspace_addr.
export const MEMORY_REGION_SIZE = 32;

// struct kvm_regs: 18 x u64 in this order.
export const REG_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
] as const;
export const REGS_SIZE = 144;
export const REGS_RIP = 16 * 8;

// struct kvm_sregs: 8 segments (24 bytes each), gdt, idt (16 each), cr0 cr2 cr3 cr4 cr8 efer apic_base.
export const SEGMENT_NAMES = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'tr', 'ldt'] as const;
export const SEGMENT_SIZE = 24;
export const SREGS_SIZE = 312;
export const SREGS_CS_BASE = 0;
export const SREGS_CS_SELECTOR = 12;
export const SREGS_GDT = 8 * SEGMENT_SIZE;
export const SREGS_IDT = SREGS_GDT + 16;
export const SREGS_CR0 = SREGS_IDT + 16;
export const SREGS_CONTROL_NAMES = ['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer', 'apic_base'] as const;

// struct kvm_pit_config: u32 flags, u32 pad[15].
export const PIT_CONFIG_SIZE = 64;
// struct kvm_irq_level: u32 irq, u32 level.
export const IRQ_LEVEL_SIZE = 8;
// struct kvm_msi: u32 address_lo, u32 address_hi, u32 data, u32 flags, u32 devid, u8 pad[12].
export const MSI_SIZE = 32;
