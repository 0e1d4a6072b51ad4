/*
 * The native vCPU threads' shared memory (vcpu-loop.c runs the threads, kept-exits.c answers the
 * exits they keep): the pool and its slots in the layout native-threads.ts reads, the constants
 * both sides name, and the functions one file calls in the other. Only the bg_* functions
 * vcpu-loop.c defines without BG_INTERNAL are the library's interface.
 */
#ifndef BOOTGATE_VCPU_POOL_H
#define BOOTGATE_VCPU_POOL_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { BG_IDLE = 0, BG_RUN = 1, BG_EXITED = 2, BG_QUIT = 3, BG_DONE = 4 };

/* device.ts SyncKind values a native thread serves or posts. */
enum { SYNC_PM_TIMER = 1, SYNC_POST_CODE = 2, SYNC_DEBUGCON = 3, SYNC_POSTED_WRITE = 4, SYNC_SHADOW_READ = 5, SYNC_CONFIG_ADDRESS = 6, SYNC_CONFIG_DATA = 7 };
/* The PCI configuration image (vmm/devices/pci/pci-host.ts): 256 bus-0 functions of 256 bytes, then a present flag per function. */
#define PCI_FUNCTIONS 256
#define PCI_CONFIG_BYTES 256
#define PCI_PRESENT_AT (PCI_FUNCTIONS * PCI_CONFIG_BYTES)
#define PCI_IMAGE_BYTES (PCI_PRESENT_AT + PCI_FUNCTIONS)
#define PCI_CONFIG_ENABLE 0x80000000u
/* ACPI PM_TMR: its rate and width (vmm/devices/pci/pm-timer.ts). */
#define PM_TIMER_HZ 3579545
#define PM_TIMER_MASK 0xffffff
/* How many times a read that meets the table being rewritten looks again before it goes to the owner. */
#define TABLE_RETRIES 1000
#define BG_SYNC_ENTRIES 24
#define BG_EMPTY_PAGES 64
/* posted-writes.ts: header words, slots (a power of two), words per slot. */
#define RING_TAIL 0
#define RING_HEAD 1
#define RING_SLOTS_AT 4
#define RING_SLOTS 256
#define RING_SLOT_WORDS 4

/* Reads a thread answered for one table entry (24 bytes). */
struct bg_local_reads {
  int32_t count; /* the owner reads and resets it */
  int32_t last_value;
  int64_t first_ns;
  int64_t last_ns;
};

/* One vCPU's slot: 1192 bytes, the layout native-threads.ts reads (bg_layout() gives the sizes, checked there). */
struct bg_slot {
  int32_t state;
  int32_t fd;
  int32_t tid;
  int32_t rc;
  int32_t err;
  int32_t index;
  int64_t enter_ns; /* CLOCK_MONOTONIC, of the last entry the owner sees */
  int64_t exit_ns;
  int64_t run_ns;   /* time in KVM_RUN, every entry */
  struct bg_pool *pool;
  struct kvm_run *run;
  int32_t empty_reads[BG_EMPTY_PAGES]; /* accesses answered here, by the empty-page table's index */
  int32_t empty_writes[BG_EMPTY_PAGES];
  int32_t sleeping; /* the thread sleeps in the futex on `state` (a waker must wake it) */
  int32_t post_count; /* POST code writes answered here (a latch nobody reads back), and the last */
  int64_t post_first_ns;
  int64_t post_last_ns;
  int32_t post_port;
  int32_t post_value;
  struct bg_local_reads local[BG_SYNC_ENTRIES]; /* PM timer and shadow reads answered here, by table entry */
  int32_t pm_reads; /* PM timer reads this thread took (the pm-timer-two-clocks quirk alternates on it) */
  int32_t pad;
};

struct bg_sync {
  int32_t port;
  int32_t span; /* SYNC_POSTED_WRITE: the one access size that may be posted */
  int32_t kind;
  int32_t pad;
};

/* The pool: a header of 1096 bytes, then the slots. */
struct bg_pool {
  int32_t bell;  /* bumped (and woken) on every exit, posted write and thread end */
  int32_t count;
  int64_t spin_ns;
  uint64_t run_request; /* KVM_RUN, passed in so the ABI numbers live in one place (kvm-abi.ts) */
  int64_t epoch_ns;     /* the pool's creation: posted writes carry their time as µs since */
  int32_t sync_version; /* odd while the owner rewrites the table */
  int32_t sync_count;
  int32_t owner_sleeping; /* the owner sleeps in the futex on `bell` */
  int32_t pad;
  struct bg_sync sync[BG_SYNC_ENTRIES];
  int32_t *ring;
  int64_t owner_spin_ns; /* the owner's poll budget while it waits for the bell */
  int32_t empty_version; /* odd while the owner rewrites the empty-page table */
  int32_t empty_count;
  int64_t empty_pages[BG_EMPTY_PAGES]; /* page numbers (gpa >> 12) */
  int32_t shadow[BG_SYNC_ENTRIES];     /* ShadowRead values by table entry: a byte, or -1 (ask the owner) */
  int64_t pm_epoch_ns;                 /* CLOCK_MONOTONIC when PM_TMR counted 0 */
  int32_t pm_owner_every;              /* quirk pm-timer-two-clocks: 2 hands every other PM timer read to the owner; 0 none */
  int32_t pci_latch;                   /* CONFIG_ADDRESS as the threads see it (the last dword written there) */
  int32_t pci_version;                 /* the image's sequence count: 0 never published, odd while the owner writes it */
  int32_t pad2;
  uint8_t *pci_image;                  /* PCI_IMAGE_BYTES */
  struct bg_slot slot[];
};

#define BG_INTERNAL __attribute__((visibility("hidden")))

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Bump the pool's bell and wake the owner if it sleeps (vcpu-loop.c). */
BG_INTERNAL void bg_ring_bell(struct bg_pool *pool);

/*
 * Serve the exit slot `s` just took, if it is one a thread keeps (kept-exits.c): 1 when it was
 * answered or queued and the vCPU may enter again, 0 when it goes to the owner.
 */
BG_INTERNAL int bg_keep_exit(struct bg_pool *pool, struct bg_slot *s);

#endif
