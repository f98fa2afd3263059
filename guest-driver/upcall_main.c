// SPDX-License-Identifier: GPL-2.0
/*
 * upcall guest server: listens on AF_VSOCK and hands each connection to the
 * service its first byte names.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/vm_sockets.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "upcall_guest.h"

static unsigned int port = UPCALL_DEFAULT_PORT;
module_param(port, uint, 0444);
MODULE_PARM_DESC(port, "vsock port to listen on, 1..1024 (default 219)");

static bool allow_local;
module_param(allow_local, bool, 0444);
MODULE_PARM_DESC(allow_local, "Also serve peers inside this guest (vsock loopback, CID 1)");

static bool release_on_unload;
module_param(release_on_unload, bool, 0644);
MODULE_PARM_DESC(release_on_unload,
		 "On unload, unregister the virtio-mmio devices this module registered");

/* How often the accept loop looks at kthread_should_stop(). */
#define UPCALL_ACCEPT_POLL	(HZ / 5)
#define UPCALL_BACKLOG		8
/* Connections served at once; more are closed right away. */
#define UPCALL_MAX_CONNS	32

struct upcall_conn {
	struct list_head node;
	struct socket *sock;
	struct work_struct work;
};

static struct socket *listen_sock;
static struct task_struct *listen_task;
static struct workqueue_struct *conn_wq;
static LIST_HEAD(conns);
static unsigned int nr_conns;
static DEFINE_MUTEX(conns_lock);

static const struct upcall_service services[] = {
	{ UPCALL_SERVICE_DEVMGR, "device manager", upcall_devmgr_serve },
};

int upcall_recv_exact(struct socket *sock, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct kvec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { };
		int ret;

		ret = kernel_recvmsg(sock, &msg, &iov, 1, iov.iov_len, MSG_WAITALL);
		if (ret == 0)
			return -ECONNRESET;
		if (ret < 0)
			return ret;
		done += ret;
	}
	return 0;
}

int upcall_send_all(struct socket *sock, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct kvec iov = {
			.iov_base = (void *)buf + done,
			.iov_len = len - done,
		};
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
		int ret;

		ret = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EPIPE;
		done += ret;
	}
	return 0;
}

static const struct upcall_service *upcall_find_service(u8 selector)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(services); i++)
		if (services[i].selector == selector)
			return &services[i];
	return NULL;
}

/* The host is CID 2; loopback peers are CID 1 and only served on request. */
static bool upcall_peer_allowed(struct socket *sock, unsigned int *cid)
{
	struct sockaddr_vm addr = { };

	*cid = VMADDR_CID_ANY;
	if (kernel_getpeername(sock, (struct sockaddr *)&addr) < 0)
		return false;
	*cid = addr.svm_cid;
	if (addr.svm_cid == VMADDR_CID_HOST)
		return true;
	return allow_local && addr.svm_cid == VMADDR_CID_LOCAL;
}

static void upcall_serve_conn(struct socket *sock)
{
	const struct upcall_service *svc;
	unsigned int cid;
	u8 selector;
	int ret;

	if (!upcall_peer_allowed(sock, &cid)) {
		pr_info_ratelimited("refused connection from CID %u (only the host, CID %u, is served)\n",
				    cid, VMADDR_CID_HOST);
		return;
	}

	WRITE_ONCE(sock->sk->sk_rcvtimeo,
		   msecs_to_jiffies(UPCALL_SERVICE_TIMEOUT_MS));
	ret = upcall_recv_exact(sock, &selector, 1);
	if (ret) {
		pr_debug("no service byte from CID %u: %d\n", cid, ret);
		return;
	}
	svc = upcall_find_service(selector);
	if (!svc) {
		pr_debug("unknown service 0x%02x from CID %u\n", selector, cid);
		return;
	}
	WRITE_ONCE(sock->sk->sk_rcvtimeo, MAX_SCHEDULE_TIMEOUT);
	svc->serve(sock);
}

static void upcall_conn_work(struct work_struct *work)
{
	struct upcall_conn *conn = container_of(work, struct upcall_conn, work);

	upcall_serve_conn(conn->sock);

	mutex_lock(&conns_lock);
	list_del(&conn->node);
	nr_conns--;
	mutex_unlock(&conns_lock);
	sock_release(conn->sock);
	kfree(conn);
}

static void upcall_start_conn(struct socket *sock)
{
	struct upcall_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		goto drop;
	conn->sock = sock;
	INIT_WORK(&conn->work, upcall_conn_work);

	mutex_lock(&conns_lock);
	if (nr_conns >= UPCALL_MAX_CONNS) {
		mutex_unlock(&conns_lock);
		pr_warn_ratelimited("too many connections, dropping one\n");
		kfree(conn);
		goto drop;
	}
	list_add(&conn->node, &conns);
	nr_conns++;
	mutex_unlock(&conns_lock);
	queue_work(conn_wq, &conn->work);
	return;
drop:
	sock_release(sock);
}

/* Accept until told to stop; the listener's receive timeout bounds each wait. */
static int upcall_listen_thread(void *unused)
{
	while (!kthread_should_stop()) {
		struct socket *sock;
		int ret;

		ret = kernel_accept(listen_sock, &sock, 0);
		if (ret == -EAGAIN || ret == -EINTR)
			continue;
		if (ret < 0) {
			pr_warn_ratelimited("accept failed: %d\n", ret);
			schedule_timeout_interruptible(UPCALL_ACCEPT_POLL);
			continue;
		}
		upcall_start_conn(sock);
	}
	return 0;
}

static int upcall_listen_open(struct socket **out)
{
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK,
		.svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	struct socket *sock;
	int ret;

	ret = sock_create_kern(&init_net, AF_VSOCK, SOCK_STREAM, 0, &sock);
	if (ret)
		return ret;
	ret = kernel_bind(sock, (struct sockaddr *)&addr, sizeof(addr));
	if (ret)
		goto err;
	ret = kernel_listen(sock, UPCALL_BACKLOG);
	if (ret)
		goto err;
	WRITE_ONCE(sock->sk->sk_rcvtimeo, UPCALL_ACCEPT_POLL);
	*out = sock;
	return 0;
err:
	sock_release(sock);
	return ret;
}

static int __init upcall_init(void)
{
	int ret;

	if (port == 0 || port > UPCALL_MAX_PORT) {
		pr_err("port %u out of range 1..%u\n", port, UPCALL_MAX_PORT);
		return -EINVAL;
	}
	conn_wq = alloc_workqueue("upcall_conn", WQ_UNBOUND, 0);
	if (!conn_wq)
		return -ENOMEM;
	ret = upcall_listen_open(&listen_sock);
	if (ret) {
		pr_err("cannot listen on vsock port %u: %d\n", port, ret);
		goto err_wq;
	}
	listen_task = kthread_run(upcall_listen_thread, NULL, "upcall-listen");
	if (IS_ERR(listen_task)) {
		ret = PTR_ERR(listen_task);
		goto err_sock;
	}
	pr_info("listening on vsock port %u%s\n", port,
		allow_local ? ", local peers allowed" : "");
	return 0;

err_sock:
	sock_release(listen_sock);
err_wq:
	destroy_workqueue(conn_wq);
	return ret;
}

static void __exit upcall_exit(void)
{
	struct upcall_conn *conn;

	kthread_stop(listen_task);
	sock_release(listen_sock);

	/* Wake every worker blocked on its peer; each then frees itself. */
	mutex_lock(&conns_lock);
	list_for_each_entry(conn, &conns, node)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	mutex_unlock(&conns_lock);
	upcall_mem_stop();
	destroy_workqueue(conn_wq);

	if (release_on_unload)
		upcall_mmio_release_all();
	upcall_mem_exit();
	pr_info("stopped\n");
}

module_init(upcall_init);
module_exit(upcall_exit);

MODULE_DESCRIPTION("upcall: host-to-guest device hot-plug over vsock");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: vsock");
