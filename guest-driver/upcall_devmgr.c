// SPDX-License-Identifier: GPL-2.0
/*
 * Device manager service ('d'): a CONNECT frame, then one reply frame per
 * request frame, in order, until the peer goes away.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/semaphore.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/sock.h>

#include "upcall_guest.h"

struct upcall_devmgr {
	struct socket *sock;
	u8 req[UPCALL_FRAME_SIZE];
	u8 rep[UPCALL_FRAME_SIZE];
};

struct upcall_handler {
	u32 type;
	upcall_handler_t handle;
};

static const struct upcall_handler handlers[] = {
	{ UPCALL_MSG_ADD_CPU,		upcall_cpu_add },
	{ UPCALL_MSG_DEL_CPU,		upcall_cpu_del },
	{ UPCALL_MSG_ADD_MEM,		upcall_mem_add },
	{ UPCALL_MSG_DEL_MEM,		upcall_mem_del },
	{ UPCALL_MSG_ADD_MMIO,		upcall_mmio_add },
	{ UPCALL_MSG_DEL_MMIO,		upcall_mmio_del },
	{ UPCALL_MSG_ADD_PCI,		upcall_pci_add },
	{ UPCALL_MSG_DEL_PCI,		upcall_pci_del },
	{ UPCALL_MSG_QUERY_CPUS,	upcall_cpu_query },
	{ UPCALL_MSG_QUERY_MEM,		upcall_mem_query },
	{ UPCALL_MSG_QUERY_MMIO,	upcall_mmio_query },
	{ UPCALL_MSG_QUERY_PCI,		upcall_pci_query },
};

u32 upcall_list_page(struct upcall_list_head *head, void *entries, const void *all,
		     u32 total, u32 start, u32 max, size_t esize)
{
	head->total = total;
	head->start = start;
	head->count = start < total ? min(total - start, max) : 0;
	/* Over the whole list, so that every page of one list carries the same. */
	head->tag = upcall_list_tag(UPCALL_LIST_TAG_INIT, all, total * esize);
	if (head->count)
		memcpy(entries, all + start * esize, head->count * esize);
	return sizeof(*head) + head->count * esize;
}

/*
 * The default stays below the host tools' default timeout (5 s), so that
 * a request stuck behind a slow one gets its -EBUSY while the host still
 * waits, instead of running after the host gave up on it; and above the
 * 3 s after which a stalled DEL_MEM gives up, so that a request queued
 * behind one is still served.
 */
#define UPCALL_LOCK_TIMEOUT_MS		4500
#define UPCALL_LOCK_TIMEOUT_MAX_MS	60000

static unsigned int lock_timeout_ms = UPCALL_LOCK_TIMEOUT_MS;
module_param(lock_timeout_ms, uint, 0644);
MODULE_PARM_DESC(lock_timeout_ms,
		 "How long a request waits for the one in progress, in ms, before it is refused with -EBUSY (default 4500, at most 60000)");

/*
 * Hot-plug operations and the module's own records: one request at a
 * time.  A semaphore, not a mutex, for down_timeout(): a request stuck
 * behind a slow one is refused rather than left waiting without limit.
 */
static DEFINE_SEMAPHORE(upcall_op_sem);
/* Set on unload: a request that gets the lock after that does not run. */
static bool upcall_stopping;

void upcall_devmgr_stop(void)
{
	WRITE_ONCE(upcall_stopping, true);
}

static int upcall_op_begin(u32 type)
{
	unsigned int ms = min_t(unsigned int, READ_ONCE(lock_timeout_ms),
				UPCALL_LOCK_TIMEOUT_MAX_MS);

	if (down_timeout(&upcall_op_sem, msecs_to_jiffies(ms))) {
		pr_info_ratelimited("%s waited %u ms for the request in progress: refused with -EBUSY\n",
				    upcall_msg_name(type), ms);
		return -EBUSY;
	}
	/* Its socket is shut down: the host would never learn the outcome. */
	if (READ_ONCE(upcall_stopping)) {
		up(&upcall_op_sem);
		pr_info_ratelimited("unloading: %s not run\n", upcall_msg_name(type));
		return -ESHUTDOWN;
	}
	return 0;
}

static bool upcall_is_cpu_type(u32 type)
{
	return type == UPCALL_MSG_ADD_CPU || type == UPCALL_MSG_DEL_CPU;
}

static int upcall_dispatch(u32 type, const void *req, void *rep, u32 *rep_size)
{
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(handlers); i++) {
		if (handlers[i].type != type)
			continue;
		ret = upcall_op_begin(type);
		if (ret)
			return ret;
		ret = handlers[i].handle(req, rep, rep_size);
		up(&upcall_op_sem);
		return ret;
	}
	return -EOPNOTSUPP;
}

/* Build the reply to dm->req in dm->rep; every byte of it is fresh. */
static void upcall_handle_frame(struct upcall_devmgr *dm)
{
	const struct upcall_msg_header *hdr = (const void *)dm->req;
	struct upcall_reply_head *head = (void *)dm->rep;
	void *rep_payload = dm->rep + sizeof(*head);
	u32 rep_size = 0;
	int ret;

	memset(dm->rep, 0, sizeof(dm->rep));
	/* CPU replies always say how far the request got, even if nowhere. */
	if (upcall_is_cpu_type(hdr->msg_type))
		rep_size = sizeof(struct upcall_cpu_reply);

	ret = upcall_check_request(hdr, dm->req + UPCALL_HDR_SIZE,
				   IS_ENABLED(CONFIG_ARM64));
	if (!ret)
		ret = upcall_dispatch(hdr->msg_type, dm->req + UPCALL_HDR_SIZE,
				      rep_payload, &rep_size);
	if (ret && !upcall_is_cpu_type(hdr->msg_type)) {
		/* A refusal carries no payload, not even a half-built one. */
		memset(rep_payload, 0, UPCALL_REPLY_PAYLOAD_MAX);
		rep_size = 0;
	}
	if (ret)
		pr_debug("request type %#x refused: %d\n", hdr->msg_type, ret);

	head->hdr.magic_version = UPCALL_MAGIC_VERSION;
	head->hdr.msg_size = rep_size;
	head->hdr.msg_type = hdr->msg_type;
	head->hdr.msg_flags = 0;
	head->ret = ret;
}

static int upcall_send_connect(struct upcall_devmgr *dm)
{
	struct upcall_msg_header *hdr = (void *)dm->rep;

	memset(dm->rep, 0, sizeof(dm->rep));
	hdr->magic_version = UPCALL_MAGIC_VERSION;
	hdr->msg_type = UPCALL_MSG_CONNECT;
	return upcall_send_all(dm->sock, dm->rep, sizeof(dm->rep));
}

void upcall_devmgr_serve(struct socket *sock)
{
	struct upcall_devmgr *dm;
	int ret;

	dm = kmalloc(sizeof(*dm), GFP_KERNEL);
	if (!dm)
		return;
	dm->sock = sock;
	ret = upcall_send_connect(dm);
	while (!ret) {
		ret = upcall_recv_exact(sock, dm->req, sizeof(dm->req));
		if (ret)
			break;
		upcall_handle_frame(dm);
		ret = upcall_send_all(sock, dm->rep, sizeof(dm->rep));
	}
	/* The socket's timeouts are set only for peers that get an idle bound. */
	if (ret == -EAGAIN)
		pr_info_ratelimited("closed a local connection idle for %ld s\n",
				    READ_ONCE(sock->sk->sk_rcvtimeo) / HZ);
	kfree(dm);
}
