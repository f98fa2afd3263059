// SPDX-License-Identifier: GPL-2.0
/*
 * ADD_MEM / DEL_MEM / QUERY_MEM (this project's extension).
 *
 * Ranges are whole memory blocks.  Added memory is driver-managed
 * ("System RAM (upcall)" in /proc/iomem): the VMM, not the firmware map,
 * owns it, so kexec'd kernels do not assume it.  Blocks are onlined
 * movable so that DEL_MEM can offline them again.
 *
 * Taking memory away can take forever on 6.1: offline_pages() retries
 * page migration until the offlining task has a signal pending, and a
 * page that any process pins (vmsplice() into a pipe nobody reads is
 * enough) never migrates.  So it runs in a kernel thread that accepts
 * SIGKILL, which it gets when it makes no progress for a while or when
 * the module unloads; what it took offline then comes back online.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/memory.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmstat.h>
#include <linux/xarray.h>

#include "upcall_guest.h"

#define UPCALL_MEM_RES_NAME	"System RAM (upcall)"
#define UPCALL_MEM_RES_FLAGS	(IORESOURCE_SYSTEM_RAM | IORESOURCE_SYSRAM_DRIVER_MANAGED)
#define UPCALL_SYSFS_RETRIES	200
#define UPCALL_SYSFS_PATH_LEN	80
/*
 * Taking memory away gives up when it made no progress for this long,
 * and in any case after this much time per block of the range.
 */
#define UPCALL_MEM_STALL_MS	3000
#define UPCALL_MEM_BLOCK_MS	20000
#define UPCALL_NO_BLOCK		U64_MAX
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

/* What a block of a range being taken away was before. */
enum upcall_block_was {
	UPCALL_BLOCK_OFFLINE,	/* offline already: left as it is */
	UPCALL_BLOCK_MOVABLE,
	UPCALL_BLOCK_KERNEL,
};

/* One "System RAM (upcall)" resource, or its part inside the range. */
struct upcall_mem_piece {
	struct upcall_mem r;
	bool removed;
};

/* Taking a range away, in its own kernel thread. */
struct upcall_mem_job {
	struct upcall_mem range;
	u8 *was;			/* enum upcall_block_was, per block */
	struct upcall_mem_piece *pieces;
	unsigned int nr_pieces;
	struct task_struct *task;
	struct completion done;
	atomic_t progress;		/* blocks offlined and pieces removed */
	struct mutex scan_lock;		/* offlining, against its removal */
	u64 offlining;			/* the block going offline, if any */
	spinlock_t lock;		/* killable, stop */
	bool killable;			/* SIGKILL may be sent now */
	bool stop;			/* give up: deadline or unload */
	int ret;
};

/* The job in flight, for unload to stop it. */
static DEFINE_MUTEX(upcall_mem_job_lock);
static struct upcall_mem_job *upcall_mem_job_cur;
static bool upcall_mem_stopping;

static u64 upcall_block_size(void)
{
	return memory_block_size_bytes();
}

static u64 upcall_mem_first(const struct upcall_mem *m)
{
	return m->base / upcall_block_size();
}

static u64 upcall_mem_blocks(const struct upcall_mem *m)
{
	return m->size / upcall_block_size();
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
	unsigned long id, n = 0;
	void *entry;

	xa_for_each_range(&upcall_blocks, id, entry, upcall_mem_first(m),
			  upcall_mem_first(m) + upcall_mem_blocks(m) - 1)
		n++;
	return n;
}

static void upcall_mem_untrack(const struct upcall_mem *m)
{
	u64 id, end = upcall_mem_first(m) + upcall_mem_blocks(m);

	for (id = upcall_mem_first(m); id < end; id++)
		xa_erase(&upcall_blocks, id);
}

static int upcall_mem_track(const struct upcall_mem *m)
{
	u64 id, end = upcall_mem_first(m) + upcall_mem_blocks(m);
	int ret;

	for (id = upcall_mem_first(m); id < end; id++) {
		ret = xa_err(xa_store(&upcall_blocks, id, xa_mk_value(1),
				      GFP_KERNEL));
		if (ret) {
			upcall_mem_untrack(m);
			return ret;
		}
	}
	return 0;
}

static bool upcall_mem_job_stopped(struct upcall_mem_job *job)
{
	return job && READ_ONCE(job->stop);
}

/*
 * A sysfs write: the store may ask for a syscall restart when
 * device_hotplug_lock is contended, which only sets a pending-signal flag
 * here.  Clear it and retry; if the lock stays taken, the host hears
 * -EBUSY, not the kernel-internal restart code.  Clearing may also eat
 * the SIGKILL of a job told to stop, hence the check after it.  A block
 * whose sysfs file cannot be opened is -EIO: -ENOENT means "not ours".
 */
static int upcall_sysfs_write(struct upcall_mem_job *job, const char *path,
			      const char *val)
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
		if (upcall_mem_job_stopped(job)) {
			ret = -EINTR;
			break;
		}
		usleep_range(5000, 10000);
	}
	filp_close(f, NULL);
	if (ret == -ERESTARTNOINTR)
		return -EBUSY;
	return ret < 0 ? ret : 0;
}

static int upcall_sysfs_read(const char *path, char *buf, size_t len)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, len - 1, &pos);
	filp_close(f, NULL);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

static void upcall_block_path(char *path, size_t len, u64 id, const char *attr)
{
	snprintf(path, len, "/sys/devices/system/memory/memory%llu/%s", id, attr);
}

static int upcall_block_read(u64 id, const char *attr, char *buf, size_t len)
{
	char path[UPCALL_SYSFS_PATH_LEN];

	upcall_block_path(path, sizeof(path), id, attr);
	return upcall_sysfs_read(path, buf, len);
}

static bool upcall_block_online(u64 id)
{
	char state[16];

	return !upcall_block_read(id, "state", state, sizeof(state)) &&
	       !strncmp(state, "online", 6);
}

/* An online block's zone, from the first word of its valid_zones. */
static enum upcall_block_was upcall_block_zone(u64 id)
{
	char zones[64];

	if (!upcall_block_read(id, "valid_zones", zones, sizeof(zones)) &&
	    !strncmp(zones, "Movable", 7))
		return UPCALL_BLOCK_MOVABLE;
	return UPCALL_BLOCK_KERNEL;
}

/* Whether an offline block may go to ZONE_MOVABLE (6.1 always allows it). */
static bool upcall_block_movable_allowed(u64 id)
{
	char zones[64];

	if (upcall_block_read(id, "valid_zones", zones, sizeof(zones)))
		return true;
	return !!strstr(zones, "Movable");
}

static int upcall_block_write(struct upcall_mem_job *job, u64 id,
			      const char *state)
{
	char path[UPCALL_SYSFS_PATH_LEN];

	upcall_block_path(path, sizeof(path), id, "state");
	return upcall_sysfs_write(job, path, state);
}

/* Online a block; if someone else (udev, a policy) got there first, fine. */
static int upcall_block_set_online(u64 id, const char *how)
{
	int ret;

	ret = upcall_block_write(NULL, id, how);
	if (ret && upcall_block_online(id))
		ret = 0;
	return ret;
}

/*
 * A new block goes movable.  Plain "online" may put it in ZONE_NORMAL,
 * which DEL_MEM could never empty again, so it is used only where the
 * kernel offers no ZONE_MOVABLE for the block, never as a retry after
 * "online_movable" failed.  An auto-online policy or udev rule that got
 * there first is honoured.
 */
static int upcall_online_new_block(u64 id)
{
	if (upcall_block_online(id))
		return 0;
	if (!upcall_block_movable_allowed(id))
		return upcall_block_set_online(id, "online");
	return upcall_block_set_online(id, "online_movable");
}

static int upcall_mem_online(const struct upcall_mem *m)
{
	u64 id, end = upcall_mem_first(m) + upcall_mem_blocks(m);
	int ret;

	for (id = upcall_mem_first(m); id < end; id++) {
		ret = upcall_online_new_block(id);
		if (ret) {
			pr_warn_ratelimited("onlining memory block %llu failed: %d\n",
					    id, ret);
			return ret;
		}
	}
	return 0;
}

/*
 * SIGKILL is only sent while the job is in a phase that can be
 * interrupted (offlining); elsewhere a pending fatal signal could make
 * allocations fail.  Returns -EINTR if the job was told to stop already.
 */
static int upcall_mem_job_killable(struct upcall_mem_job *job, bool on)
{
	int ret = 0;

	spin_lock(&job->lock);
	if (on && job->stop)
		ret = -EINTR;
	else
		job->killable = on;
	spin_unlock(&job->lock);
	if (!on)
		flush_signals(current);
	return ret;
}

static void upcall_mem_job_kill(struct upcall_mem_job *job)
{
	spin_lock(&job->lock);
	job->stop = true;
	if (job->killable)
		send_sig(SIGKILL, job->task, 1);
	spin_unlock(&job->lock);
}

/* Tell progress checks which block to look at; none once it may go away. */
static void upcall_mem_job_offlining(struct upcall_mem_job *job, u64 id)
{
	mutex_lock(&job->scan_lock);
	job->offlining = id;
	mutex_unlock(&job->scan_lock);
}

/*
 * Offline every online block of the range, remembering its zone, so that
 * a failure brings back exactly the blocks this request took offline.
 * A job told to stop starts nothing new: its SIGKILL may be pending.
 */
static int upcall_mem_offline_blocks(struct upcall_mem_job *job)
{
	u64 first = upcall_mem_first(&job->range);
	u64 i, n = upcall_mem_blocks(&job->range);
	int ret;

	for (i = 0; i < n; i++) {
		if (upcall_mem_job_stopped(job))
			return -EINTR;
		if (!upcall_block_online(first + i))
			continue;
		job->was[i] = upcall_block_zone(first + i);
		upcall_mem_job_offlining(job, first + i);
		ret = upcall_block_write(job, first + i, "offline");
		upcall_mem_job_offlining(job, UPCALL_NO_BLOCK);
		if (ret) {
			job->was[i] = UPCALL_BLOCK_OFFLINE;
			pr_warn_ratelimited("offlining memory block %llu failed: %d\n",
					    first + i, ret);
			return ret;
		}
		atomic_inc(&job->progress);
	}
	return 0;
}

/* Online again, in its zone, each block the job took offline that is left. */
static void upcall_mem_reonline(struct upcall_mem_job *job)
{
	u64 first = upcall_mem_first(&job->range);
	u64 i, n = upcall_mem_blocks(&job->range);
	char state[16];
	const char *how;

	for (i = 0; i < n; i++) {
		if (job->was[i] == UPCALL_BLOCK_OFFLINE)
			continue;
		if (upcall_block_read(first + i, "state", state, sizeof(state)) ||
		    strncmp(state, "offline", 7))
			continue;
		if (job->was[i] == UPCALL_BLOCK_MOVABLE)
			how = "online_movable";
		else
			how = "online_kernel";
		if (upcall_block_set_online(first + i, how))
			pr_warn_ratelimited("memory block %llu stays offline\n",
					    first + i);
	}
}

/* Add back a piece removed before a later one failed (offline for now). */
static void upcall_mem_readd(struct upcall_mem_piece *p)
{
	int nid = memory_add_physaddr_to_nid(p->r.base);

	if (add_memory_driver_managed(nid, p->r.base, p->r.size,
				      upcall_mem_res_name, MHP_NONE)) {
		pr_err_ratelimited("memory %#llx-%#llx could not be added back\n",
				   p->r.base, p->r.base + p->r.size - 1);
		return;
	}
	p->removed = false;
}

/* Undo a failed job: pieces back, then the blocks it took offline. */
static void upcall_mem_restore(struct upcall_mem_job *job)
{
	unsigned int i;

	for (i = 0; i < job->nr_pieces; i++)
		if (job->pieces[i].removed)
			upcall_mem_readd(&job->pieces[i]);
	upcall_mem_reonline(job);
}

/*
 * The kernel only drops a resource that covers the whole range it is
 * asked to remove, hence one removal per piece.  Every block is offline
 * by now, unless someone onlined one again in between.
 */
static int upcall_mem_remove_pieces(struct upcall_mem_job *job)
{
	struct upcall_mem_piece *p;
	unsigned int i;
	int ret;

	for (i = 0; i < job->nr_pieces; i++) {
		if (upcall_mem_job_stopped(job))
			return -EINTR;
		p = &job->pieces[i];
		ret = offline_and_remove_memory(p->r.base, p->r.size);
		if (ret) {
			pr_err_ratelimited("memory %#llx-%#llx could not be removed: %d\n",
					   p->r.base, p->r.base + p->r.size - 1, ret);
			return ret;
		}
		p->removed = true;
		atomic_inc(&job->progress);
	}
	return 0;
}

/*
 * Offline every block first, so that a range made of several added
 * pieces goes all together or not at all: if a block cannot go, or a
 * piece cannot be removed, everything comes back as it was.
 */
static int upcall_mem_job_thread(void *data)
{
	struct upcall_mem_job *job = data;
	int ret;

	allow_signal(SIGKILL);
	ret = upcall_mem_job_killable(job, true);
	if (!ret)
		ret = upcall_mem_offline_blocks(job);
	if (!ret)
		ret = upcall_mem_remove_pieces(job);
	upcall_mem_job_killable(job, false);
	if (ret)
		upcall_mem_restore(job);
	job->ret = ret;
	complete(&job->done);
	return 0;
}

/*
 * Free pages of a block being offlined.  Its pageblocks are isolated, so
 * nothing allocates there: the count only grows, as pages migrate away.
 * Tail pages of compound pages count too, but never change.
 */
static unsigned long upcall_block_free_pages(u64 id)
{
	unsigned long pfn = PFN_DOWN(id * upcall_block_size());
	unsigned long end = pfn + PFN_DOWN(upcall_block_size());
	unsigned long n = 0;
	struct page *page;

	for (; pfn < end; pfn++) {
		page = pfn_to_online_page(pfn);
		if (page && !page_ref_count(page))
			n++;
		if (!(pfn % 4096))
			cond_resched();
	}
	return n;
}

/*
 * Blocks offlined and pieces removed, plus the free pages of the block
 * being offlined: it changes as long as the job moves on.
 */
static unsigned long upcall_mem_job_progress(struct upcall_mem_job *job)
{
	unsigned long n = atomic_read(&job->progress);

	mutex_lock(&job->scan_lock);
	if (job->offlining != UPCALL_NO_BLOCK)
		n += upcall_block_free_pages(job->offlining);
	mutex_unlock(&job->scan_lock);
	return n;
}

static void upcall_mem_job_publish(struct upcall_mem_job *job)
{
	mutex_lock(&upcall_mem_job_lock);
	if (job && upcall_mem_stopping)
		upcall_mem_job_kill(job);
	upcall_mem_job_cur = job;
	mutex_unlock(&upcall_mem_job_lock);
}

/*
 * Run the job and wait for it; stop it when it made no progress for
 * UPCALL_MEM_STALL_MS (a page that does not migrate), or when its time
 * is up (pages freed one by one do not keep it going for ever).
 * Interrupted, offlining returns -EINTR, which the host hears as -EBUSY.
 */
static int upcall_mem_job_run(struct upcall_mem_job *job)
{
	unsigned long stall = msecs_to_jiffies(UPCALL_MEM_STALL_MS);
	unsigned long end, seen, now;
	struct task_struct *task;

	init_completion(&job->done);
	spin_lock_init(&job->lock);
	mutex_init(&job->scan_lock);
	job->offlining = UPCALL_NO_BLOCK;
	task = kthread_create(upcall_mem_job_thread, job, "upcall-mem");
	if (IS_ERR(task))
		return PTR_ERR(task);
	get_task_struct(task);
	job->task = task;
	upcall_mem_job_publish(job);
	seen = upcall_mem_job_progress(job);
	end = jiffies + upcall_mem_blocks(&job->range) *
			msecs_to_jiffies(UPCALL_MEM_BLOCK_MS);
	wake_up_process(task);

	while (!wait_for_completion_timeout(&job->done, stall)) {
		now = upcall_mem_job_progress(job);
		if (now != seen && time_before(jiffies, end)) {
			seen = now;
			continue;
		}
		upcall_mem_job_kill(job);
		wait_for_completion(&job->done);
		break;
	}
	upcall_mem_job_publish(NULL);
	/* The thread may still be returning through this module's code. */
	kthread_stop(task);
	put_task_struct(task);
	return job->ret == -EINTR ? -EBUSY : job->ret;
}

static int upcall_mem_add_piece(struct resource *res, void *arg)
{
	struct upcall_mem_job *job = arg;
	struct upcall_mem_piece *p;

	if (job->nr_pieces == upcall_mem_blocks(&job->range))
		return -ENOENT;
	p = &job->pieces[job->nr_pieces++];
	p->r.base = res->start;
	p->r.size = resource_size(res);
	return 0;
}

/* Our resources must cover the range, or it is not (all) ours. */
static int upcall_mem_find_pieces(struct upcall_mem_job *job)
{
	const struct upcall_mem *m = &job->range;
	u64 covered = 0;
	unsigned int i;
	int ret;

	ret = walk_iomem_res_desc(IORES_DESC_NONE, UPCALL_MEM_RES_FLAGS,
				  m->base, m->base + m->size - 1, job,
				  upcall_mem_add_piece);
	if (ret)
		return ret == -EINVAL ? -ENOENT : ret;
	for (i = 0; i < job->nr_pieces; i++)
		covered += job->pieces[i].r.size;
	return covered == m->size ? 0 : -ENOENT;
}

static void upcall_mem_job_free(struct upcall_mem_job *job)
{
	kfree(job->pieces);
	kfree(job->was);
	kfree(job);
}

/*
 * Offline and remove the range.  On failure all of it stays as it was,
 * save pieces that could not be added back: those are gone, and so is
 * their record.
 */
static int upcall_mem_take_away(const struct upcall_mem *m)
{
	u64 n = upcall_mem_blocks(m);
	struct upcall_mem_job *job;
	unsigned int i;
	int ret = -ENOMEM;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	job->range = *m;
	job->was = kcalloc(n, sizeof(*job->was), GFP_KERNEL);
	job->pieces = kcalloc(n, sizeof(*job->pieces), GFP_KERNEL);
	if (!job->was || !job->pieces)
		goto out;
	ret = upcall_mem_find_pieces(job);
	if (ret)
		goto out;
	ret = upcall_mem_job_run(job);
	for (i = 0; i < job->nr_pieces; i++)
		if (job->pieces[i].removed)
			upcall_mem_untrack(&job->pieces[i].r);
out:
	upcall_mem_job_free(job);
	return ret;
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
	if (!upcall_mem_take_away(m))
		return;
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
	if (upcall_mem_tracked(m) != upcall_mem_blocks(m))
		return -ENOENT;
	ret = upcall_mem_take_away(m);
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
 * Unload: a job in flight gives up now (what it took offline comes back
 * online), and so does any that starts later.
 */
void upcall_mem_stop(void)
{
	mutex_lock(&upcall_mem_job_lock);
	upcall_mem_stopping = true;
	if (upcall_mem_job_cur)
		upcall_mem_job_kill(upcall_mem_job_cur);
	mutex_unlock(&upcall_mem_job_lock);
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
