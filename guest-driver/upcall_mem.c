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
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/vmstat.h>
#include <linux/xarray.h>

#include "upcall_guest.h"

#define UPCALL_MEM_RES_NAME	"System RAM (upcall)"
#define UPCALL_MEM_RES_FLAGS	(IORESOURCE_SYSTEM_RAM | IORESOURCE_SYSRAM_DRIVER_MANAGED)
#define UPCALL_SYSFS_RETRIES	200
/* The memory map of an add may take at most 1/N of the kernel's memory. */
#define UPCALL_MEMMAP_SHARE	4

/* Ids of the memory blocks hot-added through upcall since load. */
static DEFINE_XARRAY(upcall_blocks);

/*
 * The resources of added memory keep a pointer to their name, and the
 * memory outlives the module, so the name lives on the heap.  It is freed
 * on unload only if none of this load's memory is left (as dax/kmem does).
 */
static const char *upcall_mem_res_name;
/* Memory we could neither keep track of nor remove again. */
static bool upcall_mem_untracked_left;

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

/*
 * Memory the kernel can still use for itself: what is available, less
 * the free pages of ZONE_MOVABLE, which kernel allocations never get.
 */
static unsigned long upcall_kernel_avail_pages(void)
{
	long avail = si_mem_available();
	int nid;

	for_each_online_node(nid)
		avail -= zone_page_state(&NODE_DATA(nid)->node_zones[ZONE_MOVABLE],
					 NR_FREE_PAGES);
	return avail > 0 ? avail : 0;
}

/*
 * The memory map of new memory (a struct page per page, about 1/64 of
 * it) comes from memory the kernel already has.  If that runs out in the
 * middle of an add, the kernel warns, leaves sections behind and cannot
 * take the range again, after OOM-killing whatever it could.  So the map
 * must fit well within what is left.
 */
static int upcall_mem_check_memmap(const struct upcall_mem *m)
{
	u64 memmap = (m->size >> PAGE_SHIFT) * sizeof(struct page);
	u64 avail = (u64)upcall_kernel_avail_pages() << PAGE_SHIFT;

	if (memmap > avail / UPCALL_MEMMAP_SHARE)
		return -ENOMEM;
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
 * pending-signal flag here.  Clear it and retry; if the lock stays taken,
 * the host hears -EBUSY, not the kernel-internal restart code.  A block
 * whose sysfs file cannot be opened is -EIO: -ENOENT means "not ours".
 */
static int upcall_sysfs_write(const char *path, const char *val)
{
	struct file *f;
	int tries, ret;
	loff_t pos;

	f = filp_open(path, O_WRONLY, 0);
	if (IS_ERR(f)) {
		pr_warn_ratelimited("cannot open %s: %ld\n", path, PTR_ERR(f));
		return -EIO;
	}
	for (tries = 0; tries < UPCALL_SYSFS_RETRIES; tries++) {
		pos = 0;
		ret = kernel_write(f, val, strlen(val), &pos);
		if (ret != -ERESTARTNOINTR)
			break;
		flush_signals(current);
		usleep_range(5000, 10000);
	}
	filp_close(f, NULL);
	if (ret == -ERESTARTNOINTR)
		return -EBUSY;
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

static void upcall_block_state_path(char *path, size_t len, u64 id)
{
	snprintf(path, len, "/sys/devices/system/memory/memory%llu/state", id);
}

/* Whether an offline block may go to ZONE_MOVABLE (6.1 always allows it). */
static bool upcall_block_movable_allowed(u64 id)
{
	char path[80], zones[64] = "";
	struct file *f;
	loff_t pos = 0;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/memory/memory%llu/valid_zones", id);
	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return true;
	kernel_read(f, zones, sizeof(zones) - 1, &pos);
	filp_close(f, NULL);
	return !!strstr(zones, "Movable");
}

/*
 * Honour an auto-online policy or udev rule that got there first.  Plain
 * "online" may put a block in ZONE_NORMAL, which DEL_MEM could never
 * empty again, so it is used only where the kernel offers no ZONE_MOVABLE
 * for the block, never as a retry after "online_movable" failed.
 */
static int upcall_online_block(u64 id)
{
	char path[64];
	int ret;

	upcall_block_state_path(path, sizeof(path), id);
	if (upcall_block_online(path))
		return 0;
	ret = upcall_sysfs_write(path, upcall_block_movable_allowed(id) ?
					"online_movable" : "online");
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
			pr_warn_ratelimited("onlining memory block %llu failed: %d\n",
					    id, ret);
			return ret;
		}
	}
	return 0;
}

static int upcall_mem_name_get(void)
{
	if (upcall_mem_res_name)
		return 0;
	upcall_mem_res_name = kstrdup_const(UPCALL_MEM_RES_NAME, GFP_KERNEL);
	return upcall_mem_res_name ? 0 : -ENOMEM;
}

/*
 * Undo a failed add.  Memory that cannot be removed stays tracked, so
 * that DEL_MEM can still take it away later.
 */
static void upcall_mem_rollback(const struct upcall_mem *m, bool tracked)
{
	/* Offlines whatever came online, then removes the range. */
	if (!offline_and_remove_memory(m->base, m->size)) {
		if (tracked)
			upcall_mem_untrack(m);
		return;
	}
	pr_err_ratelimited("memory %#llx-%#llx could not be rolled back\n",
			   m->base, m->base + m->size - 1);
	if (!tracked)
		upcall_mem_untracked_left = true;
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
	ret = upcall_mem_check_memmap(m);
	if (ret)
		return ret;
	ret = upcall_mem_name_get();
	if (ret)
		return ret;

	nid = memory_add_physaddr_to_nid(m->base);
	ret = add_memory_driver_managed(nid, m->base, m->size,
					upcall_mem_res_name, MHP_NONE);
	if (ret)
		return ret;
	ret = upcall_mem_track(m);
	if (ret) {
		upcall_mem_rollback(m, false);
		return ret;
	}
	ret = upcall_mem_online(m);
	if (ret) {
		upcall_mem_rollback(m, true);
		return ret;
	}
	pr_info_ratelimited("memory %#llx-%#llx added\n",
			    m->base, m->base + m->size - 1);
	return 0;
}

/* Online again the blocks [first, end) that DEL_MEM took offline. */
static void upcall_mem_reonline(u64 first, u64 end)
{
	u64 id;

	for (id = first; id < end; id++)
		if (upcall_online_block(id))
			pr_warn_ratelimited("memory block %llu stays offline\n", id);
}

/*
 * Offline every block first, so that a range made of several added
 * pieces goes all together or not at all.  A block already offline is
 * left alone (the kernel refuses to offline it twice); if a block cannot
 * go, every block before it is onlined again.
 */
static int upcall_mem_offline(const struct upcall_mem *m)
{
	u64 bs = upcall_block_size();
	u64 first = m->base / bs, end = (m->base + m->size) / bs;
	char path[64];
	u64 id;
	int ret;

	for (id = first; id < end; id++) {
		upcall_block_state_path(path, sizeof(path), id);
		if (!upcall_block_online(path))
			continue;
		ret = upcall_sysfs_write(path, "offline");
		if (ret) {
			pr_warn_ratelimited("offlining memory block %llu failed: %d\n",
					    id, ret);
			upcall_mem_reonline(first, id);
			return ret;
		}
	}
	return 0;
}

/*
 * One "System RAM (upcall)" resource, or the part of it inside the range.
 * The kernel only drops a resource that covers the whole range it is
 * asked to remove, hence one removal per piece.
 */
static int upcall_mem_remove_piece(struct resource *res, void *unused)
{
	struct upcall_mem piece = {
		.base = res->start,
		.size = resource_size(res),
	};
	int ret;

	ret = offline_and_remove_memory(piece.base, piece.size);
	if (ret) {
		pr_err_ratelimited("memory %#llx-%#llx could not be removed: %d\n",
				   piece.base, piece.base + piece.size - 1, ret);
		return ret;
	}
	upcall_mem_untrack(&piece);
	return 0;
}

/*
 * Only memory added through upcall goes; boot memory is never touched.
 * Every block of the range is ours, so every driver-managed System RAM
 * resource in it is one we added.
 */
int upcall_mem_del(const void *req, void *rep, u32 *rep_size)
{
	const struct upcall_mem *m = req;
	int ret;

	ret = upcall_mem_check_range(m);
	if (ret)
		return ret;
	if (upcall_mem_tracked(m) != m->size / upcall_block_size())
		return -ENOENT;
	ret = upcall_mem_offline(m);
	if (ret)
		return ret;
	ret = walk_iomem_res_desc(IORES_DESC_NONE, UPCALL_MEM_RES_FLAGS,
				  m->base, m->base + m->size - 1, NULL,
				  upcall_mem_remove_piece);
	if (ret)
		return ret;
	pr_info_ratelimited("memory %#llx-%#llx removed\n",
			    m->base, m->base + m->size - 1);
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

/*
 * The memory stays; only the record of it goes.  So does the resource
 * name while memory that points to it is left.
 */
void upcall_mem_exit(void)
{
	bool left = !xa_empty(&upcall_blocks) || upcall_mem_untracked_left;

	xa_destroy(&upcall_blocks);
	if (left) {
		pr_info("hot-added memory stays; its resource name is kept\n");
		return;
	}
	kfree_const(upcall_mem_res_name);
}
