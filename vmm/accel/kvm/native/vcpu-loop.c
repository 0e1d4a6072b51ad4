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
 * The exits a thread keeps (posted port writes, POST codes, empty MMIO pages, PM timer, shadow and
 * PCI configuration reads) are kept-exits.c's; the pool's layout is vcpu-pool.h.
 */
#include "vcpu-pool.h"

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

void bg_ring_bell(struct bg_pool *pool) {
  __atomic_add_fetch(&pool->bell, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&pool->owner_sleeping, __ATOMIC_SEQ_CST)) futex(&pool->bell, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void *vcpu_thread(void *arg) {
  struct bg_slot *s = arg;
  struct bg_pool *pool = s->pool;
  __atomic_store_n(&s->tid, (int32_t)gettid(), __ATOMIC_RELEASE);
  bg_ring_bell(pool);
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
    if (rc == 0 && bg_keep_exit(pool, s)) {
      reentry = exit;
      continue;
    }
    s->enter_ns = enter;
    s->err = err;
    s->rc = rc;
    /* Only RUN moves to EXITED: a QUIT that came meanwhile stands. */
    int32_t expected = BG_RUN;
    __atomic_compare_exchange_n(&s->state, &expected, BG_EXITED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    bg_ring_bell(pool);
  }
  __atomic_store_n(&s->state, BG_DONE, __ATOMIC_RELEASE);
  bg_ring_bell(pool);
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
