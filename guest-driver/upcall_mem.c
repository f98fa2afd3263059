// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_MEM / DEL_MEM / QUERY_MEM (this project's extension).
 *
 * Ranges are whole memory blocks.  Added memory is driver-managed
 * ("System RAM (upcall)" in /proc/iomem): the VMM, not the firmware map,
 * owns it, so kexec'd kernels do not assume it.  Blocks are onlined
 * movable so that DEL_MEM can offline them again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/xarray.h>

#include "upcall_guest.h"

#define UPCALL_MEM_RES_NAME	"System RAM (upcall)"
#define UPCALL_SYSFS_RETRIES	200

/* Ids of the memory blocks hot-added through upcall since load. */
static DEFINE_XARRAY(upcall_blocks);

static u64 upcall_block_size(void)
{
	return memory_block_size_bytes();
}

static int upcall_mem_check_range(const struct upcall_mem *m)
{
	struct range plug = mhp_get_pluggable_range(true);
	u64 bs = upcall_block_size();

	if (!IS_ALIGNED(m->base, bs) || !IS_ALIGNED(m->size, bs))
		return -EINVAL;
	if (m->base < plug.start || m->base + m->size - 1 > plug.end)
		return -ERANGE;
	return 0;
}

static unsigned long upcall_mem_tracked(const struct upcall_mem *m)
{
	u64 bs = upcall_block_size();
	unsigned long id, n = 0;
	void *entry;

	xa_for_each_range(&upcall_blocks, id, entry, m->base / bs,
			  (m->base + m->size) / bs - 1)
		n++;
	return n;
}

static void upcall_mem_untrack(const struct upcall_mem *m)
{
	u64 bs = upcall_block_size();
	u64 id;

	for (id = m->base / bs; id < (m->base + m->size) / bs; id++)
		xa_erase(&upcall_blocks, id);
}

static int upcall_mem_track(const struct upcall_mem *m)
{
	u64 bs = upcall_block_size();
	u64 id;
	int ret;

	for (id = m->base / bs; id < (m->base + m->size) / bs; id++) {
		ret = xa_err(xa_store(&upcall_blocks, id, xa_mk_value(1),
				      GFP_KERNEL));
		if (ret) {
			upcall_mem_untrack(m);
			return ret;
		}
	}
	return 0;
}

/*
 * A sysfs write from a kernel thread: the store may ask for a syscall
 * restart when device_hotplug_lock is contended, which only sets a
 * pending-signal flag here.  Clear it and retry.
 */
static int upcall_sysfs_write(const char *path, const char *val)
{
	struct file *f;
	int tries, ret;
	loff_t pos;

	f = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	for (tries = 0; tries < UPCALL_SYSFS_RETRIES; tries++) {
		pos = 0;
		ret = kernel_write(f, val, strlen(val), &pos);
		if (ret != -ERESTARTNOINTR)
			break;
		flush_signals(current);
		usleep_range(5000, 10000);
	}
	filp_close(f, NULL);
	return ret < 0 ? ret : 0;
}

static bool upcall_block_online(const char *path)
{
	char state[16] = "";
	struct file *f;
	loff_t pos = 0;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return false;
	kernel_read(f, state, sizeof(state) - 1, &pos);
	filp_close(f, NULL);
	return !strncmp(state, "online", 6);
}

/* Honour an auto-online policy or udev rule that got there first. */
static int upcall_online_block(u64 id)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/sys/devices/system/memory/memory%llu/state", id);
	if (upcall_block_online(path))
		return 0;
	ret = upcall_sysfs_write(path, "online_movable");
	if (ret && !upcall_block_online(path))
		ret = upcall_sysfs_write(path, "online");
	if (ret && upcall_block_online(path))
		ret = 0;
	return ret;
}

static int upcall_mem_online(const struct upcall_mem *m)
{
	u64 bs = upcall_block_size();
	u64 id;
	int ret;

	for (id = m->base / bs; id < (m->base + m->size) / bs; id++) {
		ret = upcall_online_block(id);
		if (ret) {
			pr_warn("onlining memory block %llu failed: %d\n", id, ret);
			return ret;
		}
	}
	return 0;
}

int upcall_mem_add(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_mem *m = req;
	int nid, ret;

	ret = upcall_mem_check_range(m);
	if (ret)
		return ret;
	if (region_intersects(m->base, m->size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EEXIST;

	nid = memory_add_physaddr_to_nid(m->base);
	ret = add_memory_driver_managed(nid, m->base, m->size,
					UPCALL_MEM_RES_NAME, MHP_NONE);
	if (ret)
		return ret;
	ret = upcall_mem_track(m);
	if (ret)
		goto err_remove;
	ret = upcall_mem_online(m);
	if (ret)
		goto err_untrack;
	pr_info("memory %#llx-%#llx added\n", m->base, m->base + m->size - 1);
	return 0;

err_untrack:
	upcall_mem_untrack(m);
err_remove:
	/* Offlines whatever came online, then removes the range. */
	if (offline_and_remove_memory(m->base, m->size))
		pr_err("memory %#llx-%#llx could not be rolled back\n",
		       m->base, m->base + m->size - 1);
	return ret;
}

/* Only memory added through upcall goes; boot memory is never touched. */
int upcall_mem_del(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_mem *m = req;
	int ret;

	ret = upcall_mem_check_range(m);
	if (ret)
		return ret;
	if (upcall_mem_tracked(m) != m->size / upcall_block_size())
		return -ENOENT;
	ret = offline_and_remove_memory(m->base, m->size);
	if (ret)
		return ret;
	upcall_mem_untrack(m);
	pr_info("memory %#llx-%#llx removed\n", m->base, m->base + m->size - 1);
	return 0;
}

int upcall_mem_query(const void *req, void *rep, u32 *rep_size)
{
	struct upcall_mem_list *list = rep;
	u64 bs = upcall_block_size();
	struct upcall_mem *last = NULL;
	unsigned long id;
	void *entry;

	xa_for_each(&upcall_blocks, id, entry) {
		u64 base = (u64)id * bs;

		if (last && last->base + last->size == base) {
			last->size += bs;
			continue;
		}
		if (list->count == UPCALL_MAX_MEM_RANGES)
			return -EOVERFLOW;
		last = &list->ranges[list->count++];
		last->base = base;
		last->size = bs;
	}
	*rep_size = offsetof(struct upcall_mem_list, ranges) +
		    list->count * sizeof(struct upcall_mem);
	return 0;
}

/* The memory stays; only the record of it goes. */
void upcall_mem_exit(void)
{
	xa_destroy(&upcall_blocks);
}
