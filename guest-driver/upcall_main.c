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

/*
 * Binding a vsock port up to this one needs CAP_NET_BIND_SERVICE
 * (LAST_RESERVED_PORT in af_vsock.c).  The module listens only on such a
 * port, so no guest user can take it over while the module reloads, and
 * serves local peers only from such a port.  (UPCALL_MAX_PORT, 1024, is
 * what the host tools accept: upstream guests listen up to 1024.)
 */
#define UPCALL_PRIVILEGED_PORT_MAX	1023

static unsigned int port = UPCALL_DEFAULT_PORT;
module_param(port, uint, 0444);
MODULE_PARM_DESC(port, "vsock port to listen on, 1..1023 (default 219)");

static bool allow_local;
module_param(allow_local, bool, 0444);
MODULE_PARM_DESC(allow_local,
		 "Also serve peers inside this guest (vsock loopback, CID 1) that connect from a privileged port (1..1023)");

static bool release_on_unload;
module_param(release_on_unload, bool, 0644);
MODULE_PARM_DESC(release_on_unload,
		 "On unload, unregister the virtio-mmio devices this module registered");

/* How often the accept loop looks at kthread_should_stop(). */
#define UPCALL_ACCEPT_POLL	(HZ / 5)
#define UPCALL_BACKLOG		8
/* Connections served at once; more are closed right away. */
#define UPCALL_MAX_CONNS	32
/* Local peers never get the last slots: those stay free for the host. */
#define UPCALL_MAX_LOCAL_CONNS	24
/*
 * After its service byte, a local peer gets this long for each request
 * frame it sends and each reply it reads, or it is closed: idle peers must
 * not keep their slots.  The host gets no such bound: an operator's shell
 * keeps its session open between commands.
 */
#define UPCALL_LOCAL_IDLE_MS	20000

struct upcall_conn {
	struct list_head node;
	struct socket *sock;
	struct work_struct work;
	bool local;		/* vsock loopback peer (CID 1) */
};

static struct socket *listen_sock;
static struct task_struct *listen_task;
static struct workqueue_struct *conn_wq;
static LIST_HEAD(conns);
static unsigned int nr_conns, nr_local_conns;
static DEFINE_MUTEX(conns_lock);

static const struct upcall_service services[] = {
	{ UPCALL_SERVICE_DEVMGR, "device manager", upcall_devmgr_serve },
};

/*
 * The socket's timeout @timeo, started at @start, bounds a whole transfer:
 * a peer that drips bytes gets no fresh timeout per byte.  Sets the time
 * left as the socket's timeout in *@sk_timeo; false once none is left.
 */
static bool upcall_time_left(long *sk_timeo, long timeo, unsigned long start)
{
	long spent = (long)(jiffies - start);

	if (timeo == MAX_SCHEDULE_TIMEOUT)
		return true;
	if (spent >= timeo)
		return false;
	WRITE_ONCE(*sk_timeo, timeo - spent);
	return true;
}

/*
 * No MSG_WAITALL: vsock would restart the timeout for every piece that
 * arrives, so it is taken piece by piece here, against one deadline.
 */
int upcall_recv_exact(struct socket *sock, void *buf, size_t len)
{
	long timeo = READ_ONCE(sock->sk->sk_rcvtimeo);
	unsigned long start = jiffies;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		struct kvec iov = { .iov_base = buf + done, .iov_len = len - done };
		struct msghdr msg = { };

		ret = kernel_recvmsg(sock, &msg, &iov, 1, iov.iov_len, 0);
		if (ret == 0)
			ret = -ECONNRESET;
		if (ret < 0)
			break;
		done += ret;
		ret = 0;
		if (done < len &&
		    !upcall_time_left(&sock->sk->sk_rcvtimeo, timeo, start)) {
			ret = -EAGAIN;
			break;
		}
	}
	WRITE_ONCE(sock->sk->sk_rcvtimeo, timeo);
	return ret;
}

int upcall_send_all(struct socket *sock, const void *buf, size_t len)
{
	long timeo = READ_ONCE(sock->sk->sk_sndtimeo);
	unsigned long start = jiffies;
	size_t done = 0;
	int ret = 0;

	while (done < len) {
		struct kvec iov = {
			.iov_base = (void *)buf + done,
			.iov_len = len - done,
		};
		struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };

		ret = kernel_sendmsg(sock, &msg, &iov, 1, iov.iov_len);
		if (ret == 0)
			ret = -EPIPE;
		if (ret < 0)
			break;
		done += ret;
		ret = 0;
		if (done < len &&
		    !upcall_time_left(&sock->sk->sk_sndtimeo, timeo, start)) {
			ret = -EAGAIN;
			break;
		}
	}
	WRITE_ONCE(sock->sk->sk_sndtimeo, timeo);
	return ret;
}

static const struct upcall_service *upcall_find_service(u8 selector)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(services); i++)
		if (services[i].selector == selector)
			return &services[i];
	return NULL;
}

/*
 * The host is CID 2.  Loopback peers (CID 1) are served only with
 * allow_local=1, and only from a privileged source port: loopback carries
 * no credentials, and binding such a port is what needs a privilege.
 * Runs in the listener, so a refused peer never takes a connection slot.
 */
static int upcall_check_peer(struct socket *sock, bool *local)
{
	struct sockaddr_vm addr = { };

	if (kernel_getpeername(sock, (struct sockaddr *)&addr) < 0)
		return -ENOTCONN;
	*local = addr.svm_cid != VMADDR_CID_HOST;
	if (!*local)
		return 0;
	if (!allow_local || addr.svm_cid != VMADDR_CID_LOCAL) {
		pr_info_ratelimited("refused connection from CID %u (only the host, CID %u, is served)\n",
				    addr.svm_cid, VMADDR_CID_HOST);
		return -EPERM;
	}
	if (addr.svm_port > UPCALL_PRIVILEGED_PORT_MAX) {
		pr_warn_ratelimited("refused local peer from unprivileged port %u (allow_local serves ports 1..%u only)\n",
				    addr.svm_port, UPCALL_PRIVILEGED_PORT_MAX);
		return -EPERM;
	}
	return 0;
}

static void upcall_serve_conn(struct upcall_conn *conn)
{
	struct socket *sock = conn->sock;
	const struct upcall_service *svc;
	long idle;
	u8 selector;
	int ret;

	WRITE_ONCE(sock->sk->sk_rcvtimeo,
		   msecs_to_jiffies(UPCALL_SERVICE_TIMEOUT_MS));
	ret = upcall_recv_exact(sock, &selector, 1);
	if (ret) {
		pr_debug("no service byte: %d\n", ret);
		return;
	}
	svc = upcall_find_service(selector);
	if (!svc) {
		pr_debug("unknown service 0x%02x\n", selector);
		return;
	}
	idle = conn->local ? msecs_to_jiffies(UPCALL_LOCAL_IDLE_MS) :
			     MAX_SCHEDULE_TIMEOUT;
	WRITE_ONCE(sock->sk->sk_rcvtimeo, idle);
	WRITE_ONCE(sock->sk->sk_sndtimeo, idle);
	svc->serve(sock);
}

static void upcall_conn_work(struct work_struct *work)
{
	struct upcall_conn *conn = container_of(work, struct upcall_conn, work);

	upcall_serve_conn(conn);

	mutex_lock(&conns_lock);
	list_del(&conn->node);
	nr_conns--;
	if (conn->local)
		nr_local_conns--;
	mutex_unlock(&conns_lock);
	sock_release(conn->sock);
	kfree(conn);
}

/* Take a slot for @conn; false if its kind of peer has none left. */
static bool upcall_add_conn(struct upcall_conn *conn)
{
	bool full;

	mutex_lock(&conns_lock);
	full = nr_conns >= UPCALL_MAX_CONNS ||
	       (conn->local && nr_local_conns >= UPCALL_MAX_LOCAL_CONNS);
	if (!full) {
		list_add(&conn->node, &conns);
		nr_conns++;
		if (conn->local)
			nr_local_conns++;
	}
	mutex_unlock(&conns_lock);
	if (full)
		pr_warn_ratelimited("too many %sconnections, dropping one\n",
				    conn->local ? "local " : "");
	return !full;
}

static void upcall_start_conn(struct socket *sock)
{
	struct upcall_conn *conn;
	bool local;

	if (upcall_check_peer(sock, &local))
		goto drop;
	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		goto drop;
	conn->sock = sock;
	conn->local = local;
	INIT_WORK(&conn->work, upcall_conn_work);
	if (!upcall_add_conn(conn)) {
		kfree(conn);
		goto drop;
	}
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

	if (port == 0 || port > UPCALL_PRIVILEGED_PORT_MAX) {
		pr_err("port %u refused: use 1..%u, ports any guest user may bind are not served\n",
		       port, UPCALL_PRIVILEGED_PORT_MAX);
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
	if (allow_local)
		pr_warn("allow_local=1: any process in this guest allowed to bind a vsock port below 1024 (root, CAP_NET_BIND_SERVICE) can hot-plug and unplug\n");
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
	upcall_devmgr_stop();

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
	upcall_pci_exit();
	pr_info("stopped\n");
}

module_init(upcall_init);
module_exit(upcall_exit);

MODULE_DESCRIPTION("upcall: host-to-guest device hot-plug over vsock");
MODULE_LICENSE("GPL");
MODULE_SOFTDEP("pre: vsock");
