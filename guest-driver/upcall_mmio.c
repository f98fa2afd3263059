// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_MMIO / DEL_MMIO: a "virtio-mmio" platform device per window, which
 * the virtio_mmio driver then probes.
 *
 * Our devices are recognised by their instance ids (a block no one else
 * uses), not by a list in module memory, so a reloaded module can still
 * remove the devices an earlier load registered.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/ratelimit.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/virtio_mmio.h>

#include "upcall_guest.h"

#define UPCALL_MMIO_NAME	"virtio-mmio"
/* "up" in ASCII: far above the ids virtio_mmio's own devices get. */
#define UPCALL_MMIO_ID_BASE	0x7570
#define UPCALL_MMIO_MAX		256

/*
 * A virtio-mmio transport is 0x200 bytes; VMMs place them 0x200 (QEMU
 * microvm) or a page (Firecracker, Dragonball) apart.
 */
#define UPCALL_MMIO_MIN_SIZE	0x200
#define UPCALL_MMIO_MAX_SIZE	SZ_4K

/* "virt", as virtio_mmio reads it. */
#define UPCALL_VIRTIO_MAGIC	0x74726976

/*
 * Per-request lines: a peer that loops on failing requests must not
 * flood the log, so each of them shows at most a few times a minute.
 */
#define upcall_mmio_info(fmt, ...)					\
do {									\
	static DEFINE_RATELIMIT_STATE(_rs, 60 * HZ, 5);		\
									\
	if (__ratelimit(&_rs))						\
		pr_info(fmt, ##__VA_ARGS__);				\
} while (0)

static bool upcall_mmio_is_ours(const struct platform_device *pdev)
{
	return pdev->id >= UPCALL_MMIO_ID_BASE &&
	       pdev->id < UPCALL_MMIO_ID_BASE + UPCALL_MMIO_MAX &&
	       !strcmp(pdev->name, UPCALL_MMIO_NAME);
}

static int upcall_mmio_match_any(struct device *dev, const void *unused)
{
	return upcall_mmio_is_ours(to_platform_device(dev));
}

static int upcall_mmio_match_id(struct device *dev, const void *data)
{
	struct platform_device *pdev = to_platform_device(dev);

	return upcall_mmio_is_ours(pdev) && pdev->id == *(const int *)data;
}

/* The device this module registered for exactly that window and IRQ. */
static int upcall_mmio_match_window(struct device *dev, const void *data)
{
	struct platform_device *pdev = to_platform_device(dev);
	const struct upcall_mmio *m = data;
	struct resource *mem, *irq;

	if (!upcall_mmio_is_ours(pdev))
		return 0;
	mem = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	irq = platform_get_resource(pdev, IORESOURCE_IRQ, 0);
	return mem && irq && mem->start == m->base &&
	       resource_size(mem) == m->size && irq->start == m->irq;
}

/* One of our devices whose window overlaps the requested one. */
static int upcall_mmio_match_overlap(struct device *dev, const void *data)
{
	struct platform_device *pdev = to_platform_device(dev);
	const struct upcall_mmio *m = data;
	struct resource *mem;

	if (!upcall_mmio_is_ours(pdev))
		return 0;
	mem = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	return mem && mem->start < m->base + m->size &&
	       m->base < mem->end + 1;
}

static struct platform_device *upcall_mmio_find(const void *data,
						int (*match)(struct device *, const void *))
{
	struct device *dev;

	dev = bus_find_device(&platform_bus_type, NULL, data, match);
	return dev ? to_platform_device(dev) : NULL;
}

static int upcall_mmio_free_id(void)
{
	int id;

	for (id = UPCALL_MMIO_ID_BASE; id < UPCALL_MMIO_ID_BASE + UPCALL_MMIO_MAX; id++) {
		struct platform_device *pdev = upcall_mmio_find(&id, upcall_mmio_match_id);

		if (!pdev)
			return id;
		put_device(&pdev->dev);
	}
	return -ENOSPC;
}

/*
 * virtio_mmio maps the whole window: only the sizes VMMs use, a power of
 * two from 0x200 to 4 KiB, aligned to its size (so within one page), and
 * inside the physical address space.
 */
static bool upcall_mmio_shape_ok(const struct upcall_mmio *m)
{
	return m->size >= UPCALL_MMIO_MIN_SIZE &&
	       m->size <= UPCALL_MMIO_MAX_SIZE &&
	       is_power_of_2(m->size) && IS_ALIGNED(m->base, m->size) &&
	       m->base + m->size - 1 <= iomem_resource.end;
}

/*
 * A PCI host bridge window (pci_find_next_bus() walks the root buses
 * only): it lives as long as the guest does.  The lock keeps a bus from
 * going away while its windows are looked at.
 */
static bool upcall_mmio_is_host_window(const struct resource *res)
{
	struct pci_bus *bus = NULL;
	struct resource *r;
	bool found = false;
	int i;

	pci_lock_rescan_remove();
	while (!found && (bus = pci_find_next_bus(bus))) {
		pci_bus_for_each_resource(bus, r, i) {
			if (r == res)
				found = true;
		}
	}
	pci_unlock_rescan_remove();
	return found;
}

/*
 * Would the window land in free address space?  @probe is a busy region
 * requested over it: that succeeds only through resources that contain
 * the window and are not busy, and only where nothing else overlaps it.
 * Registering the device inserts the window with insert_resource(),
 * which takes the same way down, so it would land under the same parent
 * and swallow nothing.  That parent must outlive our device: the root,
 * or a host bridge window, never a BAR, a bridge window or an e820 range
 * (their owners release them with everything nested inside).  A parent
 * of exactly the window's size would become its child instead.
 */
static bool upcall_mmio_lands_free(const struct resource *probe)
{
	const struct resource *parent = probe->parent;

	if (parent != &iomem_resource && !upcall_mmio_is_host_window(parent))
		return false;
	return parent->start != probe->start || parent->end != probe->end;
}

/* What virtio_mmio's probe checks first, read without registering anything. */
static bool upcall_mmio_answers(const struct upcall_mmio *m)
{
	void __iomem *regs;
	u32 magic, version, device;

	regs = ioremap(m->base, m->size);
	if (!regs)
		return false;
	magic = readl(regs + VIRTIO_MMIO_MAGIC_VALUE);
	version = readl(regs + VIRTIO_MMIO_VERSION);
	device = readl(regs + VIRTIO_MMIO_DEVICE_ID);
	iounmap(regs);
	/* Device ID 0 is an empty transport. */
	return magic == UPCALL_VIRTIO_MAGIC && (version == 1 || version == 2) &&
	       device != 0;
}

/*
 * -EBUSY unless the window is free address space; -ENODEV if nothing
 * there answers as a virtio-mmio device.  The range stays reserved while
 * its registers are read.
 */
static int upcall_mmio_probe(const struct upcall_mmio *m)
{
	struct resource *probe;
	int ret = 0;

	probe = request_mem_region(m->base, m->size, KBUILD_MODNAME);
	if (!probe)
		return -EBUSY;
	if (!upcall_mmio_lands_free(probe))
		ret = -EBUSY;
	else if (!upcall_mmio_answers(m))
		ret = -ENODEV;
	release_mem_region(m->base, m->size);
	return ret;
}

/*
 * platform_device_del() unlinks the window with release_resource(),
 * which takes along whatever nested under it since, leaving those
 * resources pointing at freed memory.  So unbind first (virtio_mmio's
 * own region goes with the driver), then take the window out with
 * remove_resource(), which hands anything else back to the window's
 * parent; the device's removal then finds the window already unlinked.
 */
static void upcall_mmio_unregister(struct platform_device *pdev)
{
	struct resource *mem = platform_get_resource(pdev, IORESOURCE_MEM, 0);

	device_release_driver(&pdev->dev);
	if (mem && mem->parent)
		remove_resource(mem);
	platform_device_unregister(pdev);
}

int upcall_mmio_add(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_mmio *m = req;
	struct resource res[] = {
		DEFINE_RES_MEM(m->base, m->size),
		DEFINE_RES_IRQ(m->irq),
	};
	struct platform_device_info info = {
		.name = UPCALL_MMIO_NAME,
		.res = res,
		.num_res = ARRAY_SIZE(res),
	};
	struct platform_device *pdev;
	bool bound;
	int ret;

	/*
	 * The IRQ is a Linux IRQ number: on arm64 nothing maps it to a GIC
	 * line, so a device registered with it would never get interrupts.
	 */
	if (IS_ENABLED(CONFIG_ARM64))
		return -EOPNOTSUPP;
	if (!upcall_mmio_shape_ok(m))
		return -EINVAL;
	/* Device registers never live in RAM. */
	if (region_intersects(m->base, m->size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EINVAL;
	pdev = upcall_mmio_find(m, upcall_mmio_match_overlap);
	if (pdev) {
		put_device(&pdev->dev);
		return -EEXIST;
	}
	ret = upcall_mmio_probe(m);
	if (ret == -ENODEV)
		upcall_mmio_info("nothing at %#llx size %#llx irq %u answered as a virtio-mmio device\n",
				 m->base, m->size, m->irq);
	if (ret)
		return ret;
	/*
	 * Without the driver nothing can bind, and a device left waiting
	 * for it is not what the host asked for: virtio_mmio has to be
	 * loaded (or built in) first.
	 */
	if (!driver_find(UPCALL_MMIO_NAME, &platform_bus_type)) {
		upcall_mmio_info("virtio-mmio device at %#llx refused: the virtio_mmio driver is not loaded\n",
				 m->base);
		return -ENODEV;
	}
	info.id = upcall_mmio_free_id();
	if (info.id < 0)
		return info.id;
	pdev = platform_device_register_full(&info);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	/*
	 * virtio_mmio probes synchronously, so by now it has bound or
	 * refused (a version it does not support, no DMA mask, ...).  Do
	 * not leave a dead device registered.
	 */
	device_lock(&pdev->dev);
	bound = pdev->dev.driver;
	device_unlock(&pdev->dev);
	if (!bound) {
		upcall_mmio_info("nothing at %#llx size %#llx irq %u answered as a virtio-mmio device (%s unregistered)\n",
				 m->base, m->size, m->irq, dev_name(&pdev->dev));
		upcall_mmio_unregister(pdev);
		return -ENODEV;
	}
	upcall_mmio_info("virtio-mmio device at %#llx size %#llx irq %u registered (%s)\n",
			 m->base, m->size, m->irq, dev_name(&pdev->dev));
	return 0;
}

int upcall_mmio_del(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_mmio *m = req;
	struct platform_device *pdev;

	pdev = upcall_mmio_find(m, upcall_mmio_match_window);
	if (!pdev)
		return -ENOENT;
	upcall_mmio_info("virtio-mmio device at %#llx size %#llx irq %u removed (%s)\n",
			 m->base, m->size, m->irq, dev_name(&pdev->dev));
	upcall_mmio_unregister(pdev);
	put_device(&pdev->dev);
	return 0;
}

struct upcall_mmio_walk {
	struct upcall_mmio *all;
	u32 count;
};

/* Each of our devices, with its window and IRQ, into the walk's array. */
static int upcall_mmio_collect(struct device *dev, void *data)
{
	struct platform_device *pdev = to_platform_device(dev);
	struct upcall_mmio_walk *walk = data;
	struct resource *mem, *irq;
	struct upcall_mmio *m;

	if (!upcall_mmio_is_ours(pdev))
		return 0;
	mem = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	irq = platform_get_resource(pdev, IORESOURCE_IRQ, 0);
	if (!mem || !irq)
		return 0;
	/* Our ids are a block of UPCALL_MMIO_MAX: there is room for all. */
	if (walk->count == UPCALL_MMIO_MAX)
		return -EOVERFLOW;
	m = &walk->all[walk->count++];
	m->base = mem->start;
	m->size = resource_size(mem);
	m->irq = irq->start;
	return 0;
}

static int upcall_mmio_cmp(const void *a, const void *b)
{
	const struct upcall_mmio *x = a, *y = b;

	if (x->base != y->base)
		return x->base < y->base ? -1 : 1;
	return 0;
}

/*
 * QUERY_MMIO: our devices by base, the page asked for.  Requests run one
 * at a time (upcall_op_sem), so no ADD_MMIO or DEL_MMIO changes the list
 * while it is read; every page of one list gets the same tag.
 */
int upcall_mmio_query(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_list_req *lr = req;
	struct upcall_mmio_list *list = rep;
	struct upcall_mmio_walk walk = { };
	int ret;

	walk.all = kcalloc(UPCALL_MMIO_MAX, sizeof(*walk.all), GFP_KERNEL);
	if (!walk.all)
		return -ENOMEM;
	ret = bus_for_each_dev(&platform_bus_type, NULL, &walk, upcall_mmio_collect);
	if (ret)
		goto out;
	sort(walk.all, walk.count, sizeof(*walk.all), upcall_mmio_cmp, NULL);
	*rep_size = upcall_list_page(&list->head, list->entries, walk.all, walk.count,
				     lr->start, UPCALL_MAX_MMIO_ENTRIES, sizeof(*walk.all));
out:
	kfree(walk.all);
	return ret;
}

void upcall_mmio_release_all(void)
{
	struct platform_device *pdev;

	while ((pdev = upcall_mmio_find(NULL, upcall_mmio_match_any))) {
		pr_info("unregistering %s\n", dev_name(&pdev->dev));
		upcall_mmio_unregister(pdev);
		put_device(&pdev->dev);
	}
}
