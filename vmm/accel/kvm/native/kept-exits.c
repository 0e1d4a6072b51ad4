/*
 * The exits a native vCPU thread keeps instead of handing them to the device owner
 * (vcpu-loop.c runs the threads; vcpu-pool.h is the shared layout).
 *
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
#include "vcpu-pool.h"

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

int bg_keep_exit(struct bg_pool *pool, struct bg_slot *s) {
  int32_t index = -1;
  int32_t kind = table_entry(pool, s->run, &index);
  if (kind == SYNC_POST_CODE) {
    count_post_code(s, written_value(s->run));
    return 1;
  }
  if (kind == SYNC_POSTED_WRITE || kind == SYNC_DEBUGCON || kind == SYNC_CONFIG_ADDRESS) {
    uint32_t value = written_value(s->run);
    /* The latch first: even a write the ring has no room for (the owner then applies it) selects what CONFIG_DATA reads next. */
    if (kind == SYNC_CONFIG_ADDRESS) __atomic_store_n(&pool->pci_latch, (int32_t)value, __ATOMIC_RELEASE);
    if (!post(pool, s, value)) return 0;
    bg_ring_bell(pool);
    return 1;
  }
  if (kind == SYNC_PM_TIMER || kind == SYNC_SHADOW_READ || kind == SYNC_CONFIG_DATA) return answer_read(pool, s, kind, index);
  return try_empty_page(pool, s);
}
