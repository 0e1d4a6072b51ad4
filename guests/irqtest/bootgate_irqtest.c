// SPDX-License-Identifier: GPL-2.0
/*
 * bootgate_irqtest: the guest half of bootgate's interrupt-delivery check.
 *
 * Binds bootgate's interrupt test device (PCI 1b36:0110, vmm/devices/pci/irq-test-device.ts),
 * takes one vector (MSI with mode=msi, INTx otherwise) and counts, per CPU, the interrupts its
 * handler acknowledges. It also binds QEMU's educational device (`-device edu`, 1234:11e8), so
 * the same probe runs on qemu:* targets as a reference: edu raises one interrupt per register
 * write, so there the driver raises the next one itself after each acknowledgement.
 * guests/irqtest/irqtest.sh drives it through sysfs attributes on the PCI device
 * (/sys/bus/pci/drivers/bootgate_irqtest/0000:BB:DD.F/):
 *
 *   fire      (w)  N: the device raises N interrupts, one after each ACK; the write returns when
 *                  all N were handled, or fails with EIO when the device stalls (see stall_ms)
 *   counts    (r)  handled interrupts per possible CPU, space separated, CPU 0 first
 *   stats     (r)  one JSON object: mode, irq (the Linux IRQ number, for /proc/irq/N/), handled,
 *                  lost, spurious, cancelled, the last fire's duration, the device's counters, counts
 *   clear     (w)  zero counts, spurious, lost, cancelled
 *   mode      (r)  "msi" or "intx"
 *   timer_hz  (rw) run PIT channel 0 as a rate generator at this many Hz (IRQ 0), 0 stops it:
 *                  the high-rate timer interrupt that must not starve the device's
 *
 * Lost interrupts: when no interrupt arrives for stall_ms while the device says one is outstanding,
 * the driver logs "lost interrupt", acknowledges it itself (like ATA's lost-interrupt recovery)
 * and goes on; after max_lost of them in one fire it cancels the rest. Recovered interrupts are
 * not in counts: the VMM's count minus the guest's is what was lost on the way.
 * /proc/interrupts shows the kernel's own per-CPU counts under the name "bootgate_irqtest".
 */

#include <linux/atomic.h>
#include <linux/i8253.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/wait.h>

#define DRV_NAME "bootgate_irqtest"

#define IRQT_VENDOR_ID 0x1b36
#define IRQT_DEVICE_ID 0x0110

/* BAR 0 registers (vmm/devices/pci/irq-test-device.ts). */
#define REG_ID 0x00
#define REG_MODE 0x08
#define REG_FIRE 0x0c
#define REG_ACK 0x10
#define REG_STATUS 0x14
#define REG_PENDING 0x18
#define REG_RAISED 0x1c
#define REG_ACKED 0x20
#define REG_CANCEL 0x24
#define IRQT_ID 0x54515249
#define MODE_INTX 0
#define MODE_MSI 1
#define STATUS_OUTSTANDING 0x1
#define FIRE_MAX 0x100000

/* QEMU's edu device (hw/misc/edu.c): ID 0x010000ed, interrupt status/raise/ack registers. */
#define EDU_VENDOR_ID 0x1234
#define EDU_DEVICE_ID 0x11e8
#define EDU_REG_ID 0x00
#define EDU_ID_LOW 0xed
#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
/* A status bit of our own: edu's factorial and DMA completions use 0x1 and 0x100. */
#define EDU_IRQ_BIT 0x10000

/* PIT channel 0, lobyte/hibyte, mode 2 (rate generator), binary; and Linux's pit_shutdown(). */
#define PIT_CMD_RATE 0x34
#define PIT_CMD_SHUTDOWN 0x30
#define PIT_HZ_MIN 19 /* the 16-bit divisor's limit */
#define PIT_HZ_MAX 100000

static char *mode = "intx";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "interrupt kind: intx (default) or msi");

static unsigned int stall_ms = 2000;
module_param(stall_ms, uint, 0644);
MODULE_PARM_DESC(stall_ms, "an outstanding interrupt not handled within this many ms is lost (default 2000)");

static unsigned int max_lost = 4;
module_param(max_lost, uint, 0644);
MODULE_PARM_DESC(max_lost, "lost interrupts recovered per fire before the rest is cancelled (default 4)");

struct irqt {
	struct pci_dev *pdev;
	void __iomem *regs;
	int irq;
	bool msi;
	/* QEMU edu: the driver paces the interrupts (raise the next after each ACK). */
	bool edu;
	unsigned int edu_left;
	u32 edu_raised;
	u32 edu_acked;
	unsigned long __percpu *count;
	unsigned long __percpu *spurious;
	/* Function-call IPIs handled per CPU since load (the ipi attribute). */
	unsigned long __percpu *ipi;
	/* Handled plus recovered since load: what fire waits on. Never cleared. */
	atomic_long_t retired;
	unsigned long lost;
	unsigned long cancelled;
	s64 last_fire_us;
	/* Serialises "read STATUS, write ACK" between the handler and the recovery path. */
	spinlock_t ack_lock;
	wait_queue_head_t wq;
	struct mutex fire_lock;
};

/* The PIT is one per machine, like the module: remember what we programmed to stop it on unload. */
static DEFINE_MUTEX(pit_lock);
static unsigned int pit_hz;

static void pit_program(unsigned int hz)
{
	unsigned long flags;
	unsigned int latch = hz ? DIV_ROUND_CLOSEST(PIT_TICK_RATE, hz) : 0;

	raw_spin_lock_irqsave(&i8253_lock, flags);
	outb_p(hz ? PIT_CMD_RATE : PIT_CMD_SHUTDOWN, PIT_MODE);
	outb_p(latch & 0xff, PIT_CH0);
	outb_p(latch >> 8, PIT_CH0);
	raw_spin_unlock_irqrestore(&i8253_lock, flags);
}

/* The device says an interrupt is raised and not acknowledged. */
static bool irqt_outstanding(struct irqt *t)
{
	if (t->edu)
		return readl(t->regs + EDU_REG_IRQ_STATUS) & EDU_IRQ_BIT;
	return readl(t->regs + REG_STATUS) & STATUS_OUTSTANDING;
}

/* Acknowledge the outstanding interrupt (edu: and raise the next one). Called with ack_lock held. */
static void irqt_ack(struct irqt *t)
{
	if (!t->edu) {
		writel(1, t->regs + REG_ACK);
		return;
	}
	writel(EDU_IRQ_BIT, t->regs + EDU_REG_IRQ_ACK);
	t->edu_acked++;
	if (t->edu_left) {
		t->edu_left--;
		t->edu_raised++;
		writel(EDU_IRQ_BIT, t->regs + EDU_REG_IRQ_RAISE);
	}
}

static void irqt_start(struct irqt *t, unsigned int n)
{
	unsigned long flags;

	if (!t->edu) {
		writel(n, t->regs + REG_FIRE);
		return;
	}
	spin_lock_irqsave(&t->ack_lock, flags);
	t->edu_left = n - 1;
	t->edu_raised++;
	writel(EDU_IRQ_BIT, t->regs + EDU_REG_IRQ_RAISE);
	spin_unlock_irqrestore(&t->ack_lock, flags);
}

static irqreturn_t irqt_handler(int irq, void *data)
{
	struct irqt *t = data;

	spin_lock(&t->ack_lock);
	if (!irqt_outstanding(t)) {
		spin_unlock(&t->ack_lock);
		this_cpu_inc(*t->spurious);
		return IRQ_NONE;
	}
	irqt_ack(t);
	this_cpu_inc(*t->count);
	atomic_long_inc(&t->retired);
	spin_unlock(&t->ack_lock);
	wake_up(&t->wq);
	return IRQ_HANDLED;
}

/* Acknowledge an interrupt the device raised and no handler took. True if there was one. */
static bool irqt_recover(struct irqt *t)
{
	unsigned long flags;
	bool outstanding;

	spin_lock_irqsave(&t->ack_lock, flags);
	outstanding = irqt_outstanding(t);
	if (outstanding) {
		irqt_ack(t);
		atomic_long_inc(&t->retired);
		t->lost++;
	}
	spin_unlock_irqrestore(&t->ack_lock, flags);
	return outstanding;
}

static void irqt_cancel(struct irqt *t)
{
	unsigned long flags;

	spin_lock_irqsave(&t->ack_lock, flags);
	if (t->edu) {
		t->cancelled += t->edu_left + (irqt_outstanding(t) ? 1 : 0);
		t->edu_left = 0;
		writel(0xffffffff, t->regs + EDU_REG_IRQ_ACK);
	} else {
		t->cancelled += readl(t->regs + REG_PENDING) + (irqt_outstanding(t) ? 1 : 0);
		writel(1, t->regs + REG_CANCEL);
	}
	spin_unlock_irqrestore(&t->ack_lock, flags);
}

/* Wait until `target` interrupts were retired; recover lost ones. 0, -EIO or -EINTR. */
static int irqt_wait(struct irqt *t, long target, unsigned int n)
{
	long seen = atomic_long_read(&t->retired);
	unsigned int lost = 0;

	for (;;) {
		long left, now;

		left = wait_event_interruptible_timeout(t->wq, atomic_long_read(&t->retired) >= target,
							msecs_to_jiffies(stall_ms));
		if (left > 0)
			return 0;
		if (left < 0) {
			irqt_cancel(t);
			return -EINTR;
		}
		now = atomic_long_read(&t->retired);
		if (now != seen) {
			seen = now;
			continue;
		}
		if (!irqt_recover(t)) {
			dev_err(&t->pdev->dev, "device stalled: nothing outstanding, %ld of %u not handled\n",
				target - now, n);
			irqt_cancel(t);
			return -EIO;
		}
		lost++;
		dev_warn(&t->pdev->dev,
			 "lost interrupt: raised by the device, handled by no CPU within %u ms (%ld of %u left)\n",
			 stall_ms, target - now, n);
		if (lost > max_lost) {
			dev_err(&t->pdev->dev, "%u lost interrupts in one fire; cancelling the rest\n", lost);
			irqt_cancel(t);
			return -EIO;
		}
		seen = atomic_long_read(&t->retired);
	}
}

/* Parse a count (1..FIRE_MAX) written to fire or ipi and take fire_lock; 0 or a -errno. */
static int irqt_lock_count(struct irqt *t, const char *buf, unsigned int *n)
{
	int ret = kstrtouint(buf, 0, n);

	if (ret)
		return ret;
	if (*n < 1 || *n > FIRE_MAX)
		return -EINVAL;
	if (mutex_lock_interruptible(&t->fire_lock))
		return -EINTR;
	return 0;
}

static ssize_t fire_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t len)
{
	struct irqt *t = dev_get_drvdata(dev);
	unsigned int n;
	ktime_t start;
	long target;
	int ret;

	ret = irqt_lock_count(t, buf, &n);
	if (ret)
		return ret;
	start = ktime_get();
	target = atomic_long_read(&t->retired) + n;
	irqt_start(t, n);
	ret = irqt_wait(t, target, n);
	t->last_fire_us = ktime_us_delta(ktime_get(), start);
	mutex_unlock(&t->fire_lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_WO(fire);

/* One per-CPU counter as "c0 c1 ...\n" (0 for CPUs that cannot exist). */
static ssize_t emit_percpu(char *buf, unsigned long __percpu *v)
{
	unsigned int cpu;
	int at = 0;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		unsigned long c = cpu_possible(cpu) ? *per_cpu_ptr(v, cpu) : 0;

		at += sysfs_emit_at(buf, at, "%s%lu", cpu ? " " : "", c);
	}
	at += sysfs_emit_at(buf, at, "\n");
	return at;
}

static ssize_t counts_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct irqt *t = dev_get_drvdata(dev);

	return emit_percpu(buf, t->count);
}
static DEVICE_ATTR_RO(counts);

static unsigned long sum_percpu(unsigned long __percpu *v)
{
	unsigned long sum = 0;
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(v, cpu);
	return sum;
}

static ssize_t stats_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct irqt *t = dev_get_drvdata(dev);
	u32 raised, acked, pending, status;
	unsigned int cpu;
	int at;

	if (t->edu) {
		/* edu counts nothing itself: these are what the driver raised and acknowledged. */
		raised = t->edu_raised;
		acked = t->edu_acked;
		pending = t->edu_left;
		status = readl(t->regs + EDU_REG_IRQ_STATUS);
	} else {
		raised = readl(t->regs + REG_RAISED);
		acked = readl(t->regs + REG_ACKED);
		pending = readl(t->regs + REG_PENDING);
		status = readl(t->regs + REG_STATUS);
	}
	at = sysfs_emit(buf,
			"{\"mode\":\"%s\",\"irq\":%d,\"handled\":%lu,\"lost\":%lu,\"spurious\":%lu,\"cancelled\":%lu,"
			"\"lastFireUs\":%lld,\"device\":{\"kind\":\"%s\",\"raised\":%u,\"acked\":%u,\"pending\":%u,"
			"\"status\":%u},\"counts\":[",
			t->msi ? "msi" : "intx", t->irq, sum_percpu(t->count), t->lost, sum_percpu(t->spurious),
			t->cancelled, t->last_fire_us, t->edu ? "edu" : "irq-test", raised, acked, pending, status);
	for (cpu = 0; cpu < nr_cpu_ids; cpu++)
		at += sysfs_emit_at(buf, at, "%s%lu", cpu ? "," : "",
				    cpu_possible(cpu) ? *per_cpu_ptr(t->count, cpu) : 0UL);
	at += sysfs_emit_at(buf, at, "]}\n");
	return at;
}
static DEVICE_ATTR_RO(stats);

static ssize_t clear_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t len)
{
	struct irqt *t = dev_get_drvdata(dev);
	unsigned int cpu;

	mutex_lock(&t->fire_lock);
	for_each_possible_cpu(cpu) {
		*per_cpu_ptr(t->count, cpu) = 0;
		*per_cpu_ptr(t->spurious, cpu) = 0;
	}
	t->lost = 0;
	t->cancelled = 0;
	mutex_unlock(&t->fire_lock);
	return len;
}
static DEVICE_ATTR_WO(clear);

static ssize_t mode_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct irqt *t = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%s\n", t->msi ? "msi" : "intx");
}
static DEVICE_ATTR_RO(mode);

static ssize_t timer_hz_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(pit_hz));
}

static ssize_t timer_hz_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t len)
{
	unsigned int hz;
	int ret = kstrtouint(buf, 0, &hz);

	if (ret)
		return ret;
	if (hz && (hz < PIT_HZ_MIN || hz > PIT_HZ_MAX))
		return -EINVAL;
	mutex_lock(&pit_lock);
	pit_program(hz);
	WRITE_ONCE(pit_hz, hz);
	mutex_unlock(&pit_lock);
	return len;
}
static DEVICE_ATTR_RW(timer_hz);

/*
 * IPIs: writing N sends N function-call IPIs (smp_call_function_single, waiting for each) from
 * the writing CPU to every other online CPU; each handler counts on the CPU it runs on. Pin the
 * writer (taskset) so the source CPU is known. A lost IPI leaves the writer waiting (the harness's
 * timeout names it); reading gives the per-CPU counts.
 */
static void irqt_ipi_handler(void *data)
{
	struct irqt *t = data;

	this_cpu_inc(*t->ipi);
}

static ssize_t ipi_store(struct device *dev, struct device_attribute *attr, const char *buf, size_t len)
{
	struct irqt *t = dev_get_drvdata(dev);
	unsigned int n, i;
	int cpu, ret;

	ret = irqt_lock_count(t, buf, &n);
	if (ret)
		return ret;
	for_each_online_cpu(cpu) {
		if (cpu == raw_smp_processor_id())
			continue;
		for (i = 0; i < n && !ret; i++)
			ret = smp_call_function_single(cpu, irqt_ipi_handler, t, 1);
	}
	mutex_unlock(&t->fire_lock);
	return ret ? ret : len;
}

static ssize_t ipi_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct irqt *t = dev_get_drvdata(dev);

	return emit_percpu(buf, t->ipi);
}
static DEVICE_ATTR_RW(ipi);

static struct attribute *irqt_attrs[] = {
	&dev_attr_fire.attr, &dev_attr_counts.attr, &dev_attr_stats.attr,    &dev_attr_clear.attr,
	&dev_attr_mode.attr, &dev_attr_timer_hz.attr, &dev_attr_ipi.attr, NULL,
};
ATTRIBUTE_GROUPS(irqt);

static void irqt_free_percpu(void *data)
{
	struct irqt *t = data;

	free_percpu(t->count);
	free_percpu(t->spurious);
	free_percpu(t->ipi);
}

static int irqt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct irqt *t;
	bool want_msi;
	int ret;

	if (!strcmp(mode, "msi")) {
		want_msi = true;
	} else if (!strcmp(mode, "intx")) {
		want_msi = false;
	} else {
		dev_err(&pdev->dev, "mode=%s: expected intx or msi\n", mode);
		return -EINVAL;
	}
	t = devm_kzalloc(&pdev->dev, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->pdev = pdev;
	spin_lock_init(&t->ack_lock);
	init_waitqueue_head(&t->wq);
	mutex_init(&t->fire_lock);
	atomic_long_set(&t->retired, 0);
	t->count = alloc_percpu(unsigned long);
	t->spurious = alloc_percpu(unsigned long);
	t->ipi = alloc_percpu(unsigned long);
	ret = devm_add_action_or_reset(&pdev->dev, irqt_free_percpu, t);
	if (ret)
		return ret;
	if (!t->count || !t->spurious || !t->ipi)
		return -ENOMEM;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), DRV_NAME);
	if (ret)
		return ret;
	t->regs = pcim_iomap_table(pdev)[0];
	t->edu = id->driver_data;
	if (t->edu ? (readl(t->regs + EDU_REG_ID) & 0xff) != EDU_ID_LOW : readl(t->regs + REG_ID) != IRQT_ID) {
		dev_err(&pdev->dev, "BAR 0 does not answer with the %s ID\n", t->edu ? "edu" : "irq-test");
		return -ENODEV;
	}
	pci_set_master(pdev);
	irqt_cancel(t);
	t->cancelled = 0;
	if (!t->edu)
		writel(want_msi ? MODE_MSI : MODE_INTX, t->regs + REG_MODE);

	ret = pci_alloc_irq_vectors(pdev, 1, 1, want_msi ? PCI_IRQ_MSI : PCI_IRQ_LEGACY);
	if (ret < 0) {
		dev_err(&pdev->dev, "no %s vector: %d\n", want_msi ? "MSI" : "INTx", ret);
		return ret;
	}
	t->irq = pci_irq_vector(pdev, 0);
	t->msi = pdev->msi_enabled;
	ret = request_irq(t->irq, irqt_handler, t->msi ? 0 : IRQF_SHARED, DRV_NAME, t);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	pci_set_drvdata(pdev, t);
	dev_info(&pdev->dev, "%s, %s, irq %d\n", t->edu ? "QEMU edu" : "bootgate irq-test", t->msi ? "MSI" : "INTx",
		 t->irq);
	return 0;
}

static void irqt_remove(struct pci_dev *pdev)
{
	struct irqt *t = pci_get_drvdata(pdev);

	irqt_cancel(t);
	free_irq(t->irq, t);
	pci_free_irq_vectors(pdev);
}

static const struct pci_device_id irqt_ids[] = {
	{ PCI_DEVICE(IRQT_VENDOR_ID, IRQT_DEVICE_ID), .driver_data = 0 },
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID), .driver_data = 1 },
	{}
};
MODULE_DEVICE_TABLE(pci, irqt_ids);

static struct pci_driver irqt_driver = {
	.name = DRV_NAME,
	.id_table = irqt_ids,
	.probe = irqt_probe,
	.remove = irqt_remove,
	.dev_groups = irqt_groups,
};

static int __init irqt_init(void)
{
	return pci_register_driver(&irqt_driver);
}

static void __exit irqt_exit(void)
{
	pci_unregister_driver(&irqt_driver);
	mutex_lock(&pit_lock);
	if (pit_hz) {
		pit_program(0);
		pit_hz = 0;
	}
	mutex_unlock(&pit_lock);
}

module_init(irqt_init);
module_exit(irqt_exit);

MODULE_DESCRIPTION("bootgate interrupt test device driver: exact per-CPU interrupt counts");
MODULE_LICENSE("GPL");
