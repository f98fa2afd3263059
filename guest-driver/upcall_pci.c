// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_PCI / DEL_PCI, PCI domain 0.  The VMM attaches or detaches the
 * device; the guest rescans the bus, or stops and removes the device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pci.h>

#include "upcall_guest.h"

/* Rescan the bus, then say whether the device the VMM announced is there. */
int upcall_pci_add(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_pci *p = req;
	struct pci_dev *pdev = NULL;
	struct pci_bus *bus;

	pci_lock_rescan_remove();
	bus = pci_find_bus(0, p->busno);
	if (bus) {
		pci_rescan_bus(bus);
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
	pci_dev_put(pdev);
	return 0;
}
