/*
 * Native vCPU threads for the KVM backend (vmm/accel/kvm/native-threads.ts loads this library).
 *
 * Why native: every JavaScript thread is a Node worker, a V8 isolate that bootstraps Node and
 * compiles its own code; in the nested lab that is about 0.7 s of CPU per thread, so at SMP 8 the
 * nine workers' start-up was most of the time to the reset vector (docs/vcpu-layer.md). A thread
 * here starts in microseconds and runs KVM_RUN; it hands every exit to the device owner, the one
 * JavaScript thread that serves exits, except the kinds below.
 *
 * Protocol, per vCPU slot (all words are accessed atomically; the owner reads them through a view):
 *   IDLE    the thread waits; the owner writes fd and sets RUN
 *   RUN     the thread enters the guest (again after each exit it keeps) until an exit for the
 *           owner, and records rc, errno and that entry's times
 *   EXITED  the thread rang the pool's bell and waits; the owner decodes kvm_run and serves it
 *   QUIT    the owner asks the thread to end; it sets DONE and rings the bell
 * A waiter spins first (sched_yield between polls, up to spin_ns) and then sleeps on the futex:
 * a futex wake-up in the lab costs about half a millisecond (docs/vcpu-layer.md, the spin budget).
 * Kicks need nothing here: the kicker sets kvm_run.immediate_exit and signals the thread's tid, and
 * KVM_RUN returns EINTR (the process has a SIGUSR2 handler, so the signal only interrupts).
 *
 * The exits a thread keeps:
 * - a port write the owner's table names as postable (vmm/vcpu/posted-writes.ts: a register
 *   declared PostedWrite, or a byte to the debug console port, which a JavaScript vCPU thread
 *   served itself) is queued in the posted-write ring, in the layout posted-writes.ts reads; the
 *   owner applies queued writes in ticket order before it serves any exit. A full ring, or a table
 *   being changed, sends the write to the owner as any other exit;
 * - a write to the POST code port (a latch no read returns: reads are all ones, and Linux writes
 *   it as an I/O delay) is only counted, with the first and last times and the last value;
 * - an MMIO access inside a 4 KiB page the owner's table names as empty (no device claims any of
 *   it: vmm/vcpu/unassigned-pages.ts) is answered as the owner's bus would answer it (reads all
 *   ones, writes dropped) and counted per page; the owner folds the counts into the vCPU's exit
 *   profile and clears the table whenever its MMIO map changes;
 * - a read of the ACPI PM timer (the table's PmTimer entry: 24 bits at 3.579545 MHz, ACPI 6.x
 *   §4.8.3.3) is answered from CLOCK_MONOTONIC and the pool's PM epoch. The owner never answers
 *   one while the threads run (a read that meets the table being rewritten waits for the
 *   rewrite), so every read the guest makes comes from this one clock and the count never runs
 *   backwards, which a 24-bit counter would show as a wrap (the pm-timer-two-clocks quirk breaks
 *   exactly that, for the sync-reads suite to catch);
 * - a byte read of a ShadowRead register (device.ts SyncKind.ShadowRead: a UART's LSR, an IDE
 *   channel's status, the i8042's status) is answered from the value the owner published for that table entry, unless
 *   the owner published none (-1: a read now would change the device). The owner publishes after
 *   serving each exit and before entering its vCPU again, and before any interrupt goes toward
 *   KVM, so a thread never reads a value older than its own last hand-over or an interrupt it took.
 * - a CONFIG_DATA read (PCI configuration mechanism #1) is answered from the configuration image
 *   the owner publishes (every bus-0 function's 256 bytes; it rewrites a function's after each
 *   configuration write it serves, all of them at a reset) for the function and register the
 *   threads' latch selects; the latch is the last dword any thread wrote to CONFIG_ADDRESS (a
 *   posted write, stored when it is queued) or the owner's after a reset. A guest that keeps
 *   CONFIG_ADDRESS and CONFIG_DATA together under a lock, as Linux and SeaBIOS do, reads what the
 *   owner would answer.
 * Reads answered here are counted per table entry in the slot (count, first and last times, last
 * value); the owner folds them into the vCPU's exit profile before it replaces the table and at the end.
 */
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

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long futex(int32_t *word, int op, int32_t value, const struct timespec *timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

/*
 * Wait while *word == value: spin up to spin_ns, then sleep (timeout_ms < 0: no timeout) with
 * *sleeping set, so that a waker makes the futex system call only when someone sleeps: in the lab a
 * system call costs tens of microseconds, and most waits end while spinning. Both sides use
 * sequentially consistent operations, so a waker either sees *sleeping or the sleeper sees the
 * new value before it sleeps (and the futex itself refuses to sleep on a changed word).
 */
static void wait_while(int32_t *word, int32_t value, int64_t spin_ns, int timeout_ms, int32_t *sleeping) {
  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return;
  if (spin_ns > 0) {
    int64_t end = now_ns() + spin_ns;
    do {
      sched_yield();
      if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return;
    } while (now_ns() < end);
  }
  struct timespec ts, *tp = NULL;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
    tp = &ts;
  }
  __atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == value) futex(word, FUTEX_WAIT_PRIVATE, value, tp);
  __atomic_store_n(sleeping, 0, __ATOMIC_SEQ_CST);
}

static void set_and_wake(int32_t *word, int32_t value, int32_t *sleeping) {
  __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(sleeping, __ATOMIC_SEQ_CST)) futex(word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void ring(struct bg_pool *pool) {
  __atomic_add_fetch(&pool->bell, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&pool->owner_sleeping, __ATOMIC_SEQ_CST)) futex(&pool->bell, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/*
 * The table entry a one-element port access of the exit just taken may be served by, and its
 * index: a write to a postable register (CONFIG_ADDRESS among them), a debug-console byte, a POST
 * code write, a PM timer read, a byte read of a ShadowRead register or a CONFIG_DATA read; 0 when
 * none is (the owner serves it). An access that meets the table being rewritten looks again (the
 * owner is a few stores from done): no PM timer read may go to the owner's clock, and no
 * CONFIG_ADDRESS write may pass the threads' latch by.
 */
static int32_t table_entry(struct bg_pool *pool, const struct kvm_run *run, int32_t *index) {
  if (run == NULL || run->exit_reason != KVM_EXIT_IO || run->io.count != 1) return 0;
  int is_out = run->io.direction == KVM_EXIT_IO_OUT;
  int32_t port = run->io.port, size = run->io.size;
  for (int attempt = 0; attempt < TABLE_RETRIES; attempt++) {
    int32_t version = __atomic_load_n(&pool->sync_version, __ATOMIC_ACQUIRE);
    if (version & 1) {
      sched_yield();
      continue;
    }
    int32_t kind = 0, hit = -1;
    int32_t n = pool->sync_count;
    for (int32_t i = 0; i < n && i < BG_SYNC_ENTRIES && kind == 0; i++) {
      const struct bg_sync *e = &pool->sync[i];
      int inside = port >= e->port && port + size <= e->port + e->span;
      int posted = (e->kind == SYNC_POSTED_WRITE || e->kind == SYNC_CONFIG_ADDRESS) && port == e->port && size == e->span;
      int match = is_out ? posted || (e->kind == SYNC_DEBUGCON && inside && size == 1) || (e->kind == SYNC_POST_CODE && inside)
                         : (e->kind == SYNC_PM_TIMER && inside) || (e->kind == SYNC_SHADOW_READ && inside && size == 1) ||
                               (e->kind == SYNC_CONFIG_DATA && inside);
      if (match) {
        kind = e->kind;
        hit = i;
      }
    }
    if (__atomic_load_n(&pool->sync_version, __ATOMIC_ACQUIRE) != version) continue;
    *index = hit;
    return kind;
  }
  return 0;
}

/* The bytes a port write just taken carries. */
static uint32_t written_value(const struct kvm_run *run) {
  uint32_t value = 0;
  memcpy(&value, (const uint8_t *)run + run->io.data_offset, (size_t)run->io.size);
  return value;
}

/* PM_TMR at `now`: ticks of 3.579545 MHz since the pool's PM epoch, low 24 bits. */
static uint32_t pm_timer_at(const struct bg_pool *pool, int64_t now) {
  int64_t ns = now - pool->pm_epoch_ns;
  if (ns < 0) ns = 0;
  /* In two parts, so that the product stays within 64 bits for any run length. */
  uint64_t ticks = (uint64_t)(ns / 1000000000) * PM_TIMER_HZ + (uint64_t)(ns % 1000000000) * PM_TIMER_HZ / 1000000000;
  return (uint32_t)(ticks & PM_TIMER_MASK);
}

/*
 * A CONFIG_DATA read of `size` bytes at `offset` in the data window, from the image under its
 * sequence count: the function CONFIG_ADDRESS selects, register (latch & 0xfc) + offset, as
 * PciHost reads it (all ones with the enable bit clear, another bus, or no function there).
 * 0 when the owner never published the image (the read goes to it).
 */
static int config_read(struct bg_pool *pool, int32_t offset, int32_t size, uint32_t *value) {
  for (int attempt = 0; attempt < TABLE_RETRIES; attempt++) {
    int32_t version = __atomic_load_n(&pool->pci_version, __ATOMIC_ACQUIRE);
    if (version == 0) return 0;
    if (version & 1) {
      sched_yield();
      continue;
    }
    uint32_t latch = (uint32_t)__atomic_load_n(&pool->pci_latch, __ATOMIC_ACQUIRE);
    uint32_t v = 0xffffffffu;
    if ((latch & PCI_CONFIG_ENABLE) != 0 && ((latch >> 16) & 0xff) == 0) {
      uint32_t devfn = (latch >> 8) & 0xff;
      if (__atomic_load_n(&pool->pci_image[PCI_PRESENT_AT + devfn], __ATOMIC_RELAXED)) {
        const uint8_t *config = pool->pci_image + devfn * PCI_CONFIG_BYTES + (latch & 0xfc) + (uint32_t)offset;
        v = 0;
        for (int32_t i = size - 1; i >= 0; i--) v = (v << 8) | __atomic_load_n(&config[i], __ATOMIC_RELAXED);
      }
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&pool->pci_version, __ATOMIC_RELAXED) != version) continue;
    *value = v;
    return 1;
  }
  return 0;
}

/*
 * Answer the port read just taken from table entry `index` (a PM timer, a published shadow value
 * or the PCI configuration image), counted in the slot; 0 when it must go to the owner (no shadow
 * value or image published).
 */
static int answer_read(struct bg_pool *pool, struct bg_slot *s, int32_t kind, int32_t index) {
  struct kvm_run *run = s->run;
  uint32_t value;
  if (kind == SYNC_PM_TIMER) {
    if (pool->pm_owner_every > 0 && ++s->pm_reads % pool->pm_owner_every == 0) return 0;
    value = pm_timer_at(pool, s->exit_ns) >> (8 * (run->io.port - pool->sync[index].port));
  } else if (kind == SYNC_CONFIG_DATA) {
    if (!config_read(pool, run->io.port - pool->sync[index].port, run->io.size, &value)) return 0;
  } else {
    int32_t shadow = __atomic_load_n(&pool->shadow[index], __ATOMIC_ACQUIRE);
    if (shadow < 0) return 0;
    value = (uint32_t)shadow;
  }
  memcpy((uint8_t *)run + run->io.data_offset, &value, (size_t)run->io.size);
  struct bg_local_reads *r = &s->local[index];
  if (__atomic_load_n(&r->count, __ATOMIC_ACQUIRE) == 0) r->first_ns = s->exit_ns;
  r->last_ns = s->exit_ns;
  r->last_value = (int32_t)value;
  __atomic_add_fetch(&r->count, 1, __ATOMIC_RELEASE);
  return 1;
}

/* Queue the port write just taken in the posted-write ring: 1, or 0 when the ring is full. */
static int post(struct bg_pool *pool, struct bg_slot *s, uint32_t value) {
  int32_t *ring = pool->ring;
  int32_t ticket = __atomic_load_n(&ring[RING_TAIL], __ATOMIC_ACQUIRE);
  do {
    if ((int32_t)((uint32_t)ticket - (uint32_t)__atomic_load_n(&ring[RING_HEAD], __ATOMIC_ACQUIRE)) >= RING_SLOTS) return 0;
  } while (!__atomic_compare_exchange_n(&ring[RING_TAIL], &ticket, (int32_t)((uint32_t)ticket + 1), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  int32_t *slot = &ring[RING_SLOTS_AT + (ticket & (RING_SLOTS - 1)) * RING_SLOT_WORDS];
  slot[1] = (s->run->io.port & 0xffff) | ((s->run->io.size & 0xf) << 16) | (s->index << 20);
  slot[2] = (int32_t)value;
  slot[3] = (int32_t)(uint32_t)((s->exit_ns - pool->epoch_ns) / 1000);
  __atomic_store_n(&slot[0], (int32_t)((uint32_t)ticket + 1), __ATOMIC_RELEASE);
  return 1;
}

/* Count a POST code write (the latch's last value kept). */
static void count_post_code(struct bg_slot *s, uint32_t value) {
  if (s->post_count == 0) s->post_first_ns = s->exit_ns;
  s->post_last_ns = s->exit_ns;
  s->post_port = s->run->io.port;
  s->post_value = (int32_t)value;
  __atomic_add_fetch(&s->post_count, 1, __ATOMIC_RELEASE);
}

/* An MMIO exit inside a page the table names as empty: answered (reads all ones), counted, and 1. */
static int try_empty_page(struct bg_pool *pool, struct bg_slot *s) {
  struct kvm_run *run = s->run;
  if (run == NULL || run->exit_reason != KVM_EXIT_MMIO || run->mmio.len == 0 || run->mmio.len > 8) return 0;
  uint64_t gpa = run->mmio.phys_addr;
  int64_t page = (int64_t)(gpa >> 12);
  if ((int64_t)((gpa + run->mmio.len - 1) >> 12) != page) return 0;
  int32_t version = __atomic_load_n(&pool->empty_version, __ATOMIC_ACQUIRE);
  if (version & 1) return 0;
  int32_t n = pool->empty_count, hit = -1;
  for (int32_t i = 0; i < n && i < BG_EMPTY_PAGES; i++)
    if (pool->empty_pages[i] == page) {
      hit = i;
      break;
    }
  if (hit < 0 || __atomic_load_n(&pool->empty_version, __ATOMIC_ACQUIRE) != version) return 0;
  if (run->mmio.is_write) __atomic_add_fetch(&s->empty_writes[hit], 1, __ATOMIC_RELAXED);
  else {
    memset(run->mmio.data, 0xff, run->mmio.len);
    __atomic_add_fetch(&s->empty_reads[hit], 1, __ATOMIC_RELAXED);
  }
  return 1;
}

static void *vcpu_thread(void *arg) {
  struct bg_slot *s = arg;
  struct bg_pool *pool = s->pool;
  __atomic_store_n(&s->tid, (int32_t)gettid(), __ATOMIC_RELEASE);
  ring(pool);
  int64_t reentry = 0;
  for (;;) {
    int32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    if (state == BG_IDLE || state == BG_EXITED) {
      wait_while(&s->state, state, pool->spin_ns, -1, &s->sleeping);
      continue;
    }
    if (state == BG_QUIT) break;
    /* After a posted write the last exit's time stands for this entry's (one clock read per exit, as the C loop). */
    int64_t enter = reentry != 0 ? reentry : now_ns();
    reentry = 0;
    int rc = ioctl(s->fd, pool->run_request, 0);
    int err = rc < 0 ? errno : 0;
    int64_t exit = now_ns();
    s->run_ns += exit - enter;
    s->exit_ns = exit;
    if (rc == 0) {
      int32_t index = -1;
      int32_t kind = table_entry(pool, s->run, &index);
      int served = 0;
      if (kind == SYNC_POST_CODE) {
        count_post_code(s, written_value(s->run));
        served = 1;
      } else if (kind == SYNC_POSTED_WRITE || kind == SYNC_DEBUGCON || kind == SYNC_CONFIG_ADDRESS) {
        uint32_t value = written_value(s->run);
        /* The latch first: even a write the ring has no room for (the owner then applies it) selects what CONFIG_DATA reads next. */
        if (kind == SYNC_CONFIG_ADDRESS) __atomic_store_n(&pool->pci_latch, (int32_t)value, __ATOMIC_RELEASE);
        served = post(pool, s, value);
        if (served) ring(pool);
      } else if (kind == SYNC_PM_TIMER || kind == SYNC_SHADOW_READ || kind == SYNC_CONFIG_DATA) {
        served = answer_read(pool, s, kind, index);
      } else {
        served = try_empty_page(pool, s);
      }
      if (served) {
        reentry = exit;
        continue;
      }
    }
    s->enter_ns = enter;
    s->err = err;
    s->rc = rc;
    /* Only RUN moves to EXITED: a QUIT that came meanwhile stands. */
    int32_t expected = BG_RUN;
    __atomic_compare_exchange_n(&s->state, &expected, BG_EXITED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    ring(pool);
  }
  __atomic_store_n(&s->state, BG_DONE, __ATOMIC_RELEASE);
  ring(pool);
  return NULL;
}

/* A pool of `count` idle slots; NULL when out of memory. */
struct bg_pool *bg_pool_new(int32_t count, uint64_t run_request, int64_t spin_ns, int64_t owner_spin_ns) {
  struct bg_pool *pool = calloc(1, sizeof *pool + (size_t)count * sizeof(struct bg_slot));
  if (pool == NULL) return NULL;
  pool->count = count;
  pool->run_request = run_request;
  pool->spin_ns = spin_ns;
  pool->owner_spin_ns = owner_spin_ns;
  pool->epoch_ns = now_ns();
  pool->pm_epoch_ns = pool->epoch_ns;
  for (int32_t i = 0; i < BG_SYNC_ENTRIES; i++) pool->shadow[i] = -1;
  pool->ring = calloc(RING_SLOTS_AT + RING_SLOTS * RING_SLOT_WORDS, sizeof(int32_t));
  pool->pci_image = calloc(1, PCI_IMAGE_BYTES);
  if (pool->ring == NULL || pool->pci_image == NULL) {
    free(pool->ring);
    free(pool->pci_image);
    free(pool);
    return NULL;
  }
  for (int32_t i = 0; i < count; i++) {
    pool->slot[i].index = i;
    pool->slot[i].pool = pool;
  }
  return pool;
}

/* Start slot `index`'s thread (detached); 0 or an errno. */
int32_t bg_spawn(struct bg_pool *pool, int32_t index) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, vcpu_thread, &pool->slot[index]);
  pthread_attr_destroy(&attr);
  return rc;
}

/* Enter the guest on slot `index` with vCPU file `fd` (kvm_run mapped at `run`) until an exit the owner must serve. */
void bg_resume(struct bg_pool *pool, int32_t index, int32_t fd, struct kvm_run *run) {
  pool->slot[index].fd = fd;
  pool->slot[index].run = run;
  set_and_wake(&pool->slot[index].state, BG_RUN, &pool->slot[index].sleeping);
}

/* Take an EXITED slot back to IDLE (the owner served its exit and will not resume it yet). */
void bg_idle(struct bg_pool *pool, int32_t index) {
  set_and_wake(&pool->slot[index].state, BG_IDLE, &pool->slot[index].sleeping);
}

/* Ask slot `index`'s thread to end (it ends after the entry it is in, if any). */
void bg_quit(struct bg_pool *pool, int32_t index) {
  set_and_wake(&pool->slot[index].state, BG_QUIT, &pool->slot[index].sleeping);
}

/* Wait (spin, then sleep up to timeout_ms) while the bell still reads `seen`; the bell's value. */
int32_t bg_wait_bell(struct bg_pool *pool, int32_t seen, int32_t timeout_ms) {
  wait_while(&pool->bell, seen, pool->owner_spin_ns, timeout_ms, &pool->owner_sleeping);
  return __atomic_load_n(&pool->bell, __ATOMIC_ACQUIRE);
}

/*
 * Replace the table of sync registers: `n` triples of (port, span, kind), kinds the threads do
 * not serve left to the owner. Every shadow value goes back to -1 until the owner publishes again;
 * the owner folds the slots' read counts of the old table first.
 */
void bg_set_sync(struct bg_pool *pool, const int32_t *entries, int32_t n) {
  if (n > BG_SYNC_ENTRIES) n = BG_SYNC_ENTRIES;
  __atomic_add_fetch(&pool->sync_version, 1, __ATOMIC_ACQ_REL);
  for (int32_t i = 0; i < BG_SYNC_ENTRIES; i++) __atomic_store_n(&pool->shadow[i], -1, __ATOMIC_RELEASE);
  for (int32_t i = 0; i < n; i++) {
    pool->sync[i].port = entries[3 * i];
    pool->sync[i].span = entries[3 * i + 1];
    pool->sync[i].kind = entries[3 * i + 2];
  }
  pool->sync_count = n;
  __atomic_add_fetch(&pool->sync_version, 1, __ATOMIC_ACQ_REL);
}

/*
 * Where PM_TMR counted 0, on CLOCK_MONOTONIC (set before the first entry); `owner_every` > 0 hands
 * every owner_every-th PM timer read of each thread to the owner (the pm-timer-two-clocks quirk
 * only: the owner then answers from its own clock).
 */
void bg_set_pm_epoch(struct bg_pool *pool, int64_t epoch_ns, int32_t owner_every) {
  pool->pm_epoch_ns = epoch_ns;
  pool->pm_owner_every = owner_every;
}

/*
 * The PCI configuration image (PCI_IMAGE_BYTES: 256 functions of 256 bytes, then 256 present
 * flags) and the two words around it: the owner writes the image through a view between two
 * increments of the sequence count (pci_version), and sets the latch after a reset.
 */
uint8_t *bg_pci_image(struct bg_pool *pool) { return pool->pci_image; }
void bg_set_pci_latch(struct bg_pool *pool, int32_t latch) { __atomic_store_n(&pool->pci_latch, latch, __ATOMIC_SEQ_CST); }

/* The shadow values, one int32 per table entry (the owner stores into them through a view). */
int32_t *bg_shadows(struct bg_pool *pool) { return pool->shadow; }

/*
 * The layout native-threads.ts reads, so that a library built from another version of this file
 * is refused instead of misread: header bytes, slot bytes, the offset of a slot's read counts, the
 * size of one count record, the table's entries, where the PCI image's sequence count is and the
 * image's size.
 */
void bg_layout(int32_t *out) {
  out[0] = (int32_t)offsetof(struct bg_pool, slot);
  out[1] = (int32_t)sizeof(struct bg_slot);
  out[2] = (int32_t)offsetof(struct bg_slot, local);
  out[3] = (int32_t)sizeof(struct bg_local_reads);
  out[4] = BG_SYNC_ENTRIES;
  out[5] = (int32_t)offsetof(struct bg_pool, pci_version);
  out[6] = PCI_IMAGE_BYTES;
}

/* Replace the table of empty pages (page numbers); the owner reads and resets the counts first. */
void bg_set_empty_pages(struct bg_pool *pool, const int64_t *pages, int32_t n) {
  if (n > BG_EMPTY_PAGES) n = BG_EMPTY_PAGES;
  __atomic_add_fetch(&pool->empty_version, 1, __ATOMIC_ACQ_REL);
  for (int32_t i = 0; i < n; i++) pool->empty_pages[i] = pages[i];
  pool->empty_count = n;
  __atomic_add_fetch(&pool->empty_version, 1, __ATOMIC_ACQ_REL);
}

/* The posted-write ring (posted-writes.ts's layout). */
int32_t *bg_ring(struct bg_pool *pool) { return pool->ring; }

/* The owner's clock for the slots' times: CLOCK_MONOTONIC in ns. */
int64_t bg_now_ns(void) { return now_ns(); }

/* The pool's memory, once every thread is DONE (a thread still running keeps it: it leaks). */
void bg_pool_free(struct bg_pool *pool) {
  free(pool->ring);
  free(pool->pci_image);
  free(pool);
}
