// kvm-exit-loop: the raw C baseline for the port-I/O exit round trip (KVM_RUN -> userspace ->
// KVM_RUN), the figure the own VMM's vCPU loop is measured against.
//
// It builds the same VM the own VMM builds for a firmware-only boot, minus the devices: TSS and
// identity-map addresses (vmm/layout.ts), in-kernel irqchip + PIT2, 2 MiB RAM at 0, the image
// mapped read-only so that it ends at 4 GiB, one vCPU left in KVM's reset state (the
// architectural one). Then: port 0x80 writes are counted, a port 0xF4 write stops, anything else
// is printed and exits 2.
//
// Output: one JSON line {"exits","firstToLastNs","roundTripNs","wallNs"}. roundTripNs is
// (last - first) / (exits - 1) where first/last are CLOCK_MONOTONIC stamps taken as KVM_RUN
// returns with the first and the last port-0x80 exit. wallNs runs from opening /dev/kvm to the
// port-0xF4 exit.
//
// Usage: kvm-exit-loop IMAGE. Exit status: 0 ok, 1 setup failure, 2 unexpected exit.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// Same values as vmm/layout.ts.
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR (KVM_IDENTITY_MAP_ADDR + 0x1000)
#define FOUR_GIB 0x100000000ULL
#define RAM_SIZE (2ULL << 20)
#define PAGE_SIZE 4096

#define POST_PORT 0x80
#define DEBUG_EXIT_PORT 0xf4

enum { SLOT_RAM = 0, SLOT_IMAGE = 1 };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  int err = errno;
  fprintf(stderr, "kvm-exit-loop: %s failed: %s (errno %d)\n", what, strerror(err), err);
  exit(1);
}

static int kvm_ioctl(int fd, unsigned long req, unsigned long arg, const char *name) {
  int r = ioctl(fd, req, arg);
  if (r < 0) die(name);
  return r;
}

#define IOCTL(fd, req, arg) kvm_ioctl((fd), (req), (unsigned long)(arg), #req)

struct image {
  void *mem;
  size_t size;
};

static struct image load_image(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "kvm-exit-loop: open %s failed: %s (errno %d)\n", path, strerror(errno), errno);
    exit(1);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) die("fstat(IMAGE)");
  size_t size = (size_t)st.st_size;
  if (size == 0 || size % PAGE_SIZE != 0 || size > (16u << 20)) {
    fprintf(stderr, "kvm-exit-loop: %s is %zu bytes; expected a non-empty multiple of 4 KiB up to 16 MiB\n",
            path, size);
    exit(1);
  }
  // A private copy: KVM must not see the file change under it while the guest runs.
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) die("mmap(image)");
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, (char *)mem + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("read(IMAGE)");
    done += (size_t)n;
  }
  close(fd);
  return (struct image){mem, size};
}

static void set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *host,
                       const char *what) {
  struct kvm_userspace_memory_region region = {
      .slot = slot,
      .flags = flags,
      .guest_phys_addr = gpa,
      .memory_size = size,
      .userspace_addr = (uint64_t)(uintptr_t)host,
  };
  if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) die(what);
}

static int create_vm(int kvm, struct image img) {
  int vm = IOCTL(kvm, KVM_CREATE_VM, 0);
  IOCTL(vm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
  uint64_t identity = KVM_IDENTITY_MAP_ADDR;
  IOCTL(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity);
  IOCTL(vm, KVM_CREATE_IRQCHIP, 0);
  struct kvm_pit_config pit = {.flags = 0};
  IOCTL(vm, KVM_CREATE_PIT2, &pit);

  void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (ram == MAP_FAILED) die("mmap(ram)");
  set_region(vm, SLOT_RAM, 0, 0, RAM_SIZE, ram, "KVM_SET_USER_MEMORY_REGION(ram)");
  if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
    fprintf(stderr, "kvm-exit-loop: KVM_CAP_READONLY_MEM is not available\n");
    exit(1);
  }
  set_region(vm, SLOT_IMAGE, KVM_MEM_READONLY, FOUR_GIB - img.size, img.size, img.mem,
             "KVM_SET_USER_MEMORY_REGION(image, KVM_MEM_READONLY)");
  return vm;
}

static void print_exit(const struct kvm_run *run) {
  switch (run->exit_reason) {
    case KVM_EXIT_IO:
      fprintf(stderr, "kvm-exit-loop: unexpected KVM_EXIT_IO %s port 0x%x size %u count %u\n",
              run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", run->io.port, run->io.size, run->io.count);
      break;
    case KVM_EXIT_MMIO:
      fprintf(stderr, "kvm-exit-loop: unexpected KVM_EXIT_MMIO %s 0x%" PRIx64 " len %u\n",
              run->mmio.is_write ? "write" : "read", (uint64_t)run->mmio.phys_addr, run->mmio.len);
      break;
    case KVM_EXIT_INTERNAL_ERROR:
      fprintf(stderr, "kvm-exit-loop: unexpected KVM_EXIT_INTERNAL_ERROR suberror %u\n", run->internal.suberror);
      break;
    case KVM_EXIT_FAIL_ENTRY:
      fprintf(stderr, "kvm-exit-loop: unexpected KVM_EXIT_FAIL_ENTRY reason 0x%llx\n",
              (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
      break;
    default:
      fprintf(stderr, "kvm-exit-loop: unexpected exit reason %u\n", run->exit_reason);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: kvm-exit-loop IMAGE\n");
    return 1;
  }
  struct image img = load_image(argv[1]);

  uint64_t start = now_ns();
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (kvm < 0) die("open(/dev/kvm)");
  int api = IOCTL(kvm, KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) {
    fprintf(stderr, "kvm-exit-loop: KVM API version %d, expected %d\n", api, KVM_API_VERSION);
    return 1;
  }
  int vm = create_vm(kvm, img);
  int vcpu = IOCTL(vm, KVM_CREATE_VCPU, 0);
  int run_size = IOCTL(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  if (run == MAP_FAILED) die("mmap(kvm_run)");

  uint64_t exits = 0, first = 0, last = 0;
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      die("KVM_RUN");
    }
    uint64_t t = now_ns();
    if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT) {
      print_exit(run);
      return 2;
    }
    if (run->io.port == POST_PORT) {
      if (exits == 0) first = t;
      last = t;
      exits++;
      continue;
    }
    if (run->io.port == DEBUG_EXIT_PORT) break;
    print_exit(run);
    return 2;
  }
  uint64_t wall = now_ns() - start;

  if (exits < 2) {
    fprintf(stderr, "kvm-exit-loop: only %" PRIu64 " port-0x%x exits; a round trip needs at least 2\n", exits,
            POST_PORT);
    return 2;
  }
  uint64_t span = last - first;
  printf("{\"exits\":%" PRIu64 ",\"firstToLastNs\":%" PRIu64 ",\"roundTripNs\":%.1f,\"wallNs\":%" PRIu64 "}\n", exits,
         span, (double)span / (double)(exits - 1), wall);
  return 0;
}
