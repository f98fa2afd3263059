// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test-only module for the guest tier: makes the kernel refuse to online
 * memory blocks, as a memory notifier may, so that the tests can see
 * what the upcall module does when onlining fails.  Nothing on a stock
 * 6.1 guest under QEMU TCG makes "online_movable" fail on its own.
 *
 *   insmod upcall_test_refuse.ko skip=S refuse=R
 *
 * lets S onlinings through, then refuses the next R with -EIO.  Both
 * are writable in /sys/module/upcall_test_refuse/parameters/.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/memory.h>
#include <linux/module.h>
#include <linux/notifier.h>

static int skip;
module_param(skip, int, 0644);
MODULE_PARM_DESC(skip, "Onlinings to let through before refusing");

static int refuse;
module_param(refuse, int, 0644);
MODULE_PARM_DESC(refuse, "Onlinings to refuse after that");

static int refuse_online(struct notifier_block *nb, unsigned long action,
			 void *data)
{
	const struct memory_notify *arg = data;

	if (action != MEM_GOING_ONLINE)
		return NOTIFY_OK;
	if (skip > 0) {
		skip--;
		return NOTIFY_OK;
	}
	if (refuse <= 0)
		return NOTIFY_OK;
	refuse--;
	pr_info("refusing to online pfn %#lx+%#lx\n", arg->start_pfn,
		arg->nr_pages);
	return notifier_from_errno(-EIO);
}

static struct notifier_block refuse_nb = {
	.notifier_call = refuse_online,
};

static int __init refuse_init(void)
{
	return register_memory_notifier(&refuse_nb);
}

static void __exit refuse_exit(void)
{
	unregister_memory_notifier(&refuse_nb);
}

module_init(refuse_init);
module_exit(refuse_exit);

MODULE_DESCRIPTION("upcall guest tests: refuse memory onlining on demand");
MODULE_LICENSE("GPL");
