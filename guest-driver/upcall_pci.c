// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_PCI / DEL_PCI, PCI domain 0.  The VMM attaches or detaches the
 * device; the guest rescans the bus, or stops and removes the device.
 * QUERY_PCI lists every function on the guest's buses.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "upcall_guest.h"

/*
 * The functions that appeared in an ADD_PCI rescan, each with a reference
 * held, so that a pointer can never name a later device.  Touched by
 * request handlers only, which run one at a time (upcall_op_sem), and by
 * module exit once they are done.
 */
#define UPCALL_PCI_ADDED_MAX	256
static struct pci_dev *upcall_pci_added[UPCALL_PCI_ADDED_MAX];

/* Drop the record of @pdev, or of every function removed since (NULL). */
static void upcall_pci_forget(struct pci_dev *pdev)
{
	int i;

	for (i = 0; i < UPCALL_PCI_ADDED_MAX; i++) {
		struct pci_dev *d = upcall_pci_added[i];

		if (!d || (pdev ? d != pdev : device_is_registered(&d->dev)))
			continue;
		upcall_pci_added[i] = NULL;
		pci_dev_put(d);
	}
}

static void upcall_pci_remember(struct pci_dev *pdev)
{
	int i;

	upcall_pci_forget(NULL);
	for (i = 0; i < UPCALL_PCI_ADDED_MAX; i++) {
		if (upcall_pci_added[i])
			continue;
		upcall_pci_added[i] = pci_dev_get(pdev);
		return;
	}
	/* Full of live devices: this one just is not marked as added. */
}

static bool upcall_pci_was_added(const struct pci_dev *pdev)
{
	int i;

	for (i = 0; i < UPCALL_PCI_ADDED_MAX; i++)
		if (upcall_pci_added[i] == pdev)
			return true;
	return false;
}

/* Rescan the bus, then say whether the device the VMM announced is there. */
int upcall_pci_add(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_pci *p = req;
	DECLARE_BITMAP(before, 256);
	struct pci_dev *pdev = NULL, *d;
	struct pci_bus *bus;

	bitmap_zero(before, 256);
	pci_lock_rescan_remove();
	bus = pci_find_bus(0, p->busno);
	if (bus) {
		list_for_each_entry(d, &bus->devices, bus_list)
			__set_bit(d->devfn, before);
		pci_rescan_bus(bus);
		/* Every function the rescan brought in, not only the one asked for. */
		list_for_each_entry(d, &bus->devices, bus_list)
			if (!test_bit(d->devfn, before))
				upcall_pci_remember(d);
		pdev = pci_get_slot(bus, p->devfn);
	}
	pci_unlock_rescan_remove();

	if (!bus)
		return -ENODEV;
	if (!pdev)
		return -ENOENT;
	/* Per request: a peer in a loop must not flood the log. */
	pci_dbg(pdev, "present after rescan\n");
	pci_dev_put(pdev);
	return 0;
}

int upcall_pci_del(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_pci *p = req;
	struct pci_dev *pdev;

	pdev = pci_get_domain_bus_and_slot(0, p->busno, p->devfn);
	if (!pdev)
		return -ENODEV;
	pci_info_ratelimited(pdev, "removing\n");
	pci_stop_and_remove_bus_device_locked(pdev);
	upcall_pci_forget(pdev);
	pci_dev_put(pdev);
	return 0;
}

static u64 upcall_pci_key(const struct upcall_pci_entry *e)
{
	return (u64)e->segment << 16 | (u32)e->bus << 8 | e->devfn;
}

static int upcall_pci_cmp(const void *a, const void *b)
{
	u64 x = upcall_pci_key(a), y = upcall_pci_key(b);

	if (x != y)
		return x < y ? -1 : 1;
	return 0;
}

static void upcall_pci_fill(struct upcall_pci_entry *e, const struct pci_dev *pdev)
{
	e->segment = pci_domain_nr(pdev->bus);
	e->bus = pdev->bus->number;
	e->devfn = pdev->devfn;
	e->vendor = pdev->vendor;
	e->device = pdev->device;
	e->class_code = pdev->class & 0xffffff;
	e->flags = upcall_pci_was_added(pdev) ? UPCALL_PCI_ADDED : 0;
}

/*
 * Every function on the guest's buses, by address.  Under the rescan
 * lock no device comes or goes, so the count taken first still holds
 * when the list is filled.
 */
static int upcall_pci_collect(struct upcall_pci_entry **out, u32 *count)
{
	struct upcall_pci_entry *all;
	struct pci_dev *pdev = NULL;
	u32 n = 0;

	for_each_pci_dev(pdev)
		n++;
	all = kvcalloc(max_t(u32, n, 1), sizeof(*all), GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	*count = 0;
	for_each_pci_dev(pdev) {
		if (*count == n) {
			pci_dev_put(pdev);
			break;
		}
		upcall_pci_fill(&all[(*count)++], pdev);
	}
	sort(all, *count, sizeof(*all), upcall_pci_cmp, NULL);
	*out = all;
	return 0;
}

int upcall_pci_query(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_list_req *lr = req;
	struct upcall_pci_list *list = rep;
	struct upcall_pci_entry *all;
	u32 n;
	int ret;

	pci_lock_rescan_remove();
	ret = upcall_pci_collect(&all, &n);
	pci_unlock_rescan_remove();
	if (ret)
		return ret;
	*rep_size = upcall_list_page(&list->head, list->entries, all, n, lr->start,
				     UPCALL_MAX_PCI_ENTRIES, sizeof(*all));
	kvfree(all);
	return 0;
}

void upcall_pci_exit(void)
{
	int i;

	for (i = 0; i < UPCALL_PCI_ADDED_MAX; i++) {
		pci_dev_put(upcall_pci_added[i]);
		upcall_pci_added[i] = NULL;
	}
}
