// SPDX-License-Identifier: LGPL-2.1-or-later
/* Sessions: one connection, the service handshake, ping-pong requests. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"


uint64_t upcall_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum upcall_status upcall_fail(struct upcall_session *s, enum upcall_status st,
			       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return st;
}

/* What upcall_target_parse would have accepted, for hand-built targets. */
static bool target_ok(const struct upcall_target *t)
{
	if (t->port > UPCALL_MAX_PORT)
		return false;
	if (t->transport == UPCALL_TRANSPORT_VSOCK)
		return t->cid != 0 && t->cid != 2 && t->cid != UINT32_MAX;
	return t->transport == UPCALL_TRANSPORT_UNIX && t->path[0] &&
	       memchr(t->path, '\0', sizeof(t->path));
}

UPCALL_EXPORT
struct upcall_session *upcall_session_new(const struct upcall_target *t)
{
	struct upcall_session *s;

	if (!target_ok(t)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->target = *t;
	if (s->target.port == 0)
		s->target.port = UPCALL_DEFAULT_PORT;
	s->arch = upcall_host_arch();
	s->timeout_ms = UPCALL_DEFAULT_TIMEOUT_MS;
	s->fd = -1;
	s->watch_fd = s->watch_wd = -1;
	s->cancel_fd = -1;
	return s;
}

UPCALL_EXPORT
void upcall_session_free(struct upcall_session *s)
{
	if (!s)
		return;
	upcall_disconnect(s);
	if (s->watch_fd >= 0)
		close(s->watch_fd);
	free(s);
}

UPCALL_EXPORT
int upcall_session_set_timeout(struct upcall_session *s, int timeout_ms)
{
	if (timeout_ms < 0)
		return -EINVAL;
	s->timeout_ms = timeout_ms ? timeout_ms : UPCALL_DEFAULT_TIMEOUT_MS;
	return 0;
}

UPCALL_EXPORT
int upcall_session_set_wait(struct upcall_session *s, int wait_ms)
{
	if (wait_ms < 0)
		return -EINVAL;
	s->wait_ms = wait_ms;
	return 0;
}

UPCALL_EXPORT
int upcall_session_set_arch(struct upcall_session *s, enum upcall_arch arch)
{
	if (arch != UPCALL_ARCH_X86_64 && arch != UPCALL_ARCH_AARCH64)
		return -EINVAL;
	s->arch = arch;
	return 0;
}

UPCALL_EXPORT
void upcall_session_set_frame_hook(struct upcall_session *s, upcall_frame_fn fn,
				   void *data)
{
	s->hook = fn;
	s->hook_data = data;
}

UPCALL_EXPORT
int upcall_session_set_cancel_fd(struct upcall_session *s, int fd)
{
	if (fd < -1 || (fd >= 0 && fcntl(fd, F_GETFD) < 0))
		return -EBADF;
	s->cancel_fd = fd;
	return 0;
}

UPCALL_EXPORT
const struct upcall_target *upcall_session_target(const struct upcall_session *s)
{
	return &s->target;
}

UPCALL_EXPORT
enum upcall_arch upcall_session_arch(const struct upcall_session *s)
{
	return s->arch;
}

UPCALL_EXPORT
uint64_t upcall_session_stat(const struct upcall_session *s, enum upcall_stat key)
{
	switch (key) {
	case UPCALL_STAT_REQUESTS:
		return s->stats.requests;
	case UPCALL_STAT_CONNECTS:
		return s->stats.connects;
	case UPCALL_STAT_LAST_CONNECT_NS:
		return s->stats.last_connect_ns;
	case UPCALL_STAT_LAST_RTT_NS:
		return s->stats.last_rtt_ns;
	}
	return 0;
}

UPCALL_EXPORT
const char *upcall_errmsg(const struct upcall_session *s)
{
	return s->errmsg;
}

UPCALL_EXPORT
bool upcall_is_connected(const struct upcall_session *s)
{
	return s->fd >= 0;
}

UPCALL_EXPORT
void upcall_disconnect(struct upcall_session *s)
{
	if (s->op.step != UPCALL_STEP_IDLE) {
		s->op.result = upcall_fail(s, UPCALL_ERR_CANCELLED, "interrupted %s",
					   s->op.what);
		upcall_op_abort(s);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static enum upcall_status connect_once(struct upcall_session *s)
{
	return upcall_run(s, upcall_start_connect(s, NULL));
}

/*
 * A booting guest: retry what may pass (no socket yet, VMM or guest driver
 * not listening yet).  A missing socket is waited for with inotify; other
 * retries back off from 100 us to 1 ms, so readiness is seen within about
 * a millisecond at a cost of at most a thousand cheap attempts a second.
 */
static enum upcall_status connect_waiting(struct upcall_session *s)
{
	uint64_t until = upcall_now_ns() + (uint64_t)s->wait_ms * 1000000u;
	struct timespec pause = { 0, 100000 };
	enum upcall_status st;
	bool gave_up = false;
	size_t len;

	for (;;) {
		st = connect_once(s);
		if (st != UPCALL_ERR_UNREACHABLE || !s->retryable)
			break;
		if (upcall_cancelled(s)) {
			st = upcall_fail(s, UPCALL_ERR_CANCELLED,
					 "interrupted while waiting for the guest");
			break;
		}
		gave_up = upcall_now_ns() >= until;
		if (gave_up)
			break;
		if (s->target.transport == UPCALL_TRANSPORT_UNIX &&
		    access(s->target.path, F_OK) != 0) {
			upcall_wait_for_path(s, 50);
			continue;
		}
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 1000000)
			pause.tv_nsec *= 2;
	}
	upcall_unwatch_path(s);
	if (!gave_up)
		return st;
	len = strlen(s->errmsg);
	snprintf(s->errmsg + len, sizeof(s->errmsg) - len,
		 " (still, after waiting %gs)", s->wait_ms / 1000.0);
	return st;
}

/* Connected and idle, or ready to connect anew; the guest may have hung up. */
static enum upcall_status check_idle(struct upcall_session *s)
{
	if (s->op.step != UPCALL_STEP_IDLE)
		return upcall_fail(s, UPCALL_ERR_INVALID,
				   "another operation is in progress (%s)", s->op.what);
	if (s->fd >= 0 && upcall_transport_stale(s))
		upcall_disconnect(s);	/* the guest hung up while we were idle */
	return UPCALL_OK;
}

UPCALL_EXPORT
enum upcall_status upcall_connect(struct upcall_session *s)
{
	enum upcall_status st = check_idle(s);

	if (st || s->fd >= 0)
		return st;
	if (s->nonblocking)
		return upcall_start_connect(s, NULL);
	return s->wait_ms ? connect_waiting(s) : connect_once(s);
}

/* Linux errnos are 1..4095; -INT32_MIN, for one, does not even fit. */
#define GUEST_ERRNO_MAX 4095

/*
 * What the refusal means.  The per-request meanings hold for a request of
 * its type's payload size only: a raw request of another size is refused
 * for that (@buf says so), whatever its type.
 */
static const char *refusal_meaning(const struct upcall_session *s,
				   const struct upcall_reply *r,
				   const struct upcall_request *req,
				   const char *name, char *buf, size_t len)
{
	uint32_t sent = upcall_get_le32(req->frame + offsetof(struct upcall_msg_header, msg_size));
	int want = upcall_req_payload_size(req->type, s->arch == UPCALL_ARCH_AARCH64);

	if (want < 0 || sent == (uint32_t)want)
		return upcall_errno_meaning(r->msg_type, r->ret, r->msg_size);
	if (r->ret != -EINVAL)
		return NULL;
	snprintf(buf, len, "the request's payload is %" PRIu32 " byte%s, and %s takes %d",
		 sent, sent == 1 ? "" : "s", name, want);
	return buf;
}

/* "guest replied -16 (Device or resource busy) to ADD_MMIO[ after...]: what it means" */
static enum upcall_status guest_refused(struct upcall_session *s,
					const struct upcall_reply *r,
					const struct upcall_request *req,
					const char *name, unsigned int count)
{
	char after[48] = "", buf[96];
	const char *meaning = refusal_meaning(s, r, req, name, buf, sizeof(buf));

	if (r->ret > 0 || r->ret < -GUEST_ERRNO_MAX)
		return upcall_fail(s, UPCALL_ERR_PROTOCOL,
				   "guest replied %" PRId32 " (not a negative errno) to %s",
				   r->ret, name);
	s->unsupported = (r->ret == -1 && !r->msg_size) || r->ret == -EOPNOTSUPP;
	if (count && r->cpu_index > 0)
		snprintf(after, sizeof(after), " after %" PRIu32 " of %u CPUs",
			 r->cpu_index, count);
	return upcall_fail(s, *after ? UPCALL_ERR_PARTIAL : UPCALL_ERR_GUEST,
			   "guest replied %" PRId32 " (%s) to %s%s%s%s", r->ret,
			   r->ret == -1 && !r->msg_size ? "unknown request" : strerror(-r->ret),
			   name, after, meaning ? ": " : "", meaning ? meaning : "");
}

enum upcall_status upcall_reply_status(struct upcall_session *s,
				       const struct upcall_reply *r,
				       const struct upcall_request *req, const char *name)
{
	unsigned int cpu_count = req->cpu_count;

	if (r->ret != 0)
		return guest_refused(s, r, req, name, cpu_count);
	if (cpu_count && r->cpu_index < cpu_count)
		return upcall_fail(s, UPCALL_ERR_PARTIAL,
				   "guest handled %" PRIu32 " of %u CPUs of %s without an error",
				   r->cpu_index, cpu_count, name);
	s->errmsg[0] = '\0';
	return UPCALL_OK;
}

/*
 * Send one request and read its reply; a connection that desyncs is
 * dropped.  In non-blocking mode this only starts it (connecting first if
 * need be): upcall_session_process() goes on from there.
 */
static enum upcall_status submit(struct upcall_session *s,
				 const struct upcall_request *req)
{
	enum upcall_status st = check_idle(s);

	if (st)
		return st;
	s->unsupported = false;
	if (s->nonblocking)
		return s->fd >= 0 ? upcall_start_request(s, req) :
				    upcall_start_connect(s, req);
	if (s->fd < 0) {
		st = s->wait_ms ? connect_waiting(s) : connect_once(s);
		if (st)
			return st;
	}
	return upcall_run(s, upcall_start_request(s, req));
}

/* A request of @type whose frame the caller encodes. */
static void request_init(struct upcall_request *req, uint32_t type,
			 struct upcall_reply *reply)
{
	req->type = type;
	req->cpu_count = req->req_count = 0;
	req->reply = reply;
	req->finish = NULL;
	req->out = NULL;
}

static unsigned int cpu_reply_count(const struct upcall_session *s,
				    const struct upcall_cpu_request *req)
{
	/* On aarch64 the reply carries a CPU id, not an index into a list. */
	return s->arch == UPCALL_ARCH_X86_64 ? req->count : 0;
}

/*
 * A CPU failure reply without an index (upstream fills it in on success
 * only) to a request of several CPUs: those before the failing one may be
 * done.  A single CPU's refusal stays a refusal: that CPU is not done.
 */
static enum upcall_status cpu_finish(struct upcall_session *s, enum upcall_status st)
{
	const struct upcall_request *req = &s->op.req;
	struct upcall_reply *r = req->reply ? req->reply : &s->op.reply;
	char name[32];

	if (st != UPCALL_ERR_GUEST || req->req_count <= 1 ||
	    r->msg_size >= sizeof(struct upcall_cpu_reply))
		return st;
	r->cpu_index = UPCALL_CPU_INDEX_UNKNOWN;
	upcall_msg_type_name(r->msg_type, name, sizeof(name));
	return upcall_fail(s, UPCALL_ERR_PARTIAL,
			   "guest replied %" PRId32 " (%s) to %s of %u CPUs without reporting how far it got: the CPUs before the failing one may be done",
			   r->ret, strerror(-r->ret), name, req->req_count);
}

static enum upcall_status cpu_request(struct upcall_session *s, uint32_t type,
				      const struct upcall_cpu_request *cpus,
				      struct upcall_reply *reply)
{
	struct upcall_request req;
	enum upcall_status st;

	request_init(&req, type, reply);
	st = upcall_encode_cpu(req.frame, type, s->arch, cpus, s->errmsg,
			       sizeof(s->errmsg));
	if (st)
		return st;
	req.cpu_count = cpu_reply_count(s, cpus);
	req.req_count = cpus->count;
	req.finish = cpu_finish;
	return submit(s, &req);
}

UPCALL_EXPORT
enum upcall_status upcall_add_cpu(struct upcall_session *s,
				  const struct upcall_cpu_request *req,
				  struct upcall_reply *reply)
{
	return cpu_request(s, UPCALL_MSG_ADD_CPU, req, reply);
}

UPCALL_EXPORT
enum upcall_status upcall_del_cpu(struct upcall_session *s,
				  const struct upcall_cpu_request *req,
				  struct upcall_reply *reply)
{
	return cpu_request(s, UPCALL_MSG_DEL_CPU, req, reply);
}

static enum upcall_status mem_request(struct upcall_session *s, uint32_t type,
				      uint64_t base, uint64_t size,
				      struct upcall_reply *reply)
{
	struct upcall_request req;
	enum upcall_status st;

	request_init(&req, type, reply);
	st = upcall_encode_mem(req.frame, type, base, size, s->errmsg,
			       sizeof(s->errmsg));
	return st ? st : submit(s, &req);
}

UPCALL_EXPORT
enum upcall_status upcall_add_mem(struct upcall_session *s, uint64_t base,
				  uint64_t size, struct upcall_reply *reply)
{
	return mem_request(s, UPCALL_MSG_ADD_MEM, base, size, reply);
}

UPCALL_EXPORT
enum upcall_status upcall_del_mem(struct upcall_session *s, uint64_t base,
				  uint64_t size, struct upcall_reply *reply)
{
	return mem_request(s, UPCALL_MSG_DEL_MEM, base, size, reply);
}

static enum upcall_status mmio_request(struct upcall_session *s, uint32_t type,
				       uint64_t base, uint64_t size,
				       uint32_t irq, struct upcall_reply *reply)
{
	struct upcall_request req;
	enum upcall_status st;

	request_init(&req, type, reply);
	st = upcall_encode_mmio(req.frame, type, base, size, irq, s->errmsg,
				sizeof(s->errmsg));
	return st ? st : submit(s, &req);
}

UPCALL_EXPORT
enum upcall_status upcall_add_mmio(struct upcall_session *s, uint64_t base,
				   uint64_t size, uint32_t irq,
				   struct upcall_reply *reply)
{
	return mmio_request(s, UPCALL_MSG_ADD_MMIO, base, size, irq, reply);
}

UPCALL_EXPORT
enum upcall_status upcall_del_mmio(struct upcall_session *s, uint64_t base,
				   uint64_t size, uint32_t irq,
				   struct upcall_reply *reply)
{
	return mmio_request(s, UPCALL_MSG_DEL_MMIO, base, size, irq, reply);
}

static enum upcall_status pci_request(struct upcall_session *s, uint32_t type,
				      uint8_t busno, uint8_t devfn,
				      struct upcall_reply *reply)
{
	struct upcall_request req;

	request_init(&req, type, reply);
	upcall_encode_pci(req.frame, type, busno, devfn);
	return submit(s, &req);
}

UPCALL_EXPORT
enum upcall_status upcall_add_pci(struct upcall_session *s, uint8_t busno,
				  uint8_t devfn, struct upcall_reply *reply)
{
	return pci_request(s, UPCALL_MSG_ADD_PCI, busno, devfn, reply);
}

UPCALL_EXPORT
enum upcall_status upcall_del_pci(struct upcall_session *s, uint8_t busno,
				  uint8_t devfn, struct upcall_reply *reply)
{
	return pci_request(s, UPCALL_MSG_DEL_PCI, busno, devfn, reply);
}

UPCALL_EXPORT
enum upcall_status upcall_send_raw(struct upcall_session *s, uint32_t type,
				   const void *payload, size_t len,
				   struct upcall_reply *reply)
{
	struct upcall_request req;

	if (len > UPCALL_REQ_PAYLOAD_MAX)
		return upcall_fail(s, UPCALL_ERR_INVALID,
				   "payload of %zu bytes does not fit a frame (at most %u)",
				   len, UPCALL_REQ_PAYLOAD_MAX);
	request_init(&req, type, reply);
	upcall_frame_init(req.frame, type, (uint32_t)len);
	if (len)
		memcpy(req.frame + UPCALL_HDR_SIZE, payload, len);
	return submit(s, &req);
}

static enum upcall_status cpus_finish(struct upcall_session *s, enum upcall_status st)
{
	if (st)
		return st;
	return upcall_decode_cpu_list(&s->op.reply, s->op.req.out, s->errmsg,
				      sizeof(s->errmsg));
}

static enum upcall_status mem_finish(struct upcall_session *s, enum upcall_status st)
{
	if (st)
		return st;
	return upcall_decode_mem_list(&s->op.reply, s->op.req.out, s->errmsg,
				      sizeof(s->errmsg));
}

/* A query: no payload; @finish decodes the reply into @out. */
static enum upcall_status query(struct upcall_session *s, uint32_t type,
				enum upcall_status (*finish)(struct upcall_session *,
							     enum upcall_status),
				void *out)
{
	struct upcall_request req;

	request_init(&req, type, NULL);
	upcall_frame_init(req.frame, type, 0);
	req.finish = finish;
	req.out = out;
	return submit(s, &req);
}

UPCALL_EXPORT
enum upcall_status upcall_query_cpus(struct upcall_session *s,
				     struct upcall_id_list *cpus)
{
	return query(s, UPCALL_MSG_QUERY_CPUS, cpus_finish, cpus);
}

UPCALL_EXPORT
enum upcall_status upcall_query_mem(struct upcall_session *s,
				    struct upcall_range_list *mem)
{
	return query(s, UPCALL_MSG_QUERY_MEM, mem_finish, mem);
}

/* A paged list: its request type, entry size and page decoder. */
struct list_kind {
	uint32_t type;
	size_t dsize;
	enum upcall_status (*decode)(const struct upcall_reply *r, uint32_t start,
				     struct upcall_list_head *h, void *devs,
				     uint32_t *tag, char *err, size_t errlen);
	/* Is @b past @a in the list's order? */
	bool (*after)(const void *a, const void *b);
};

#define LIST_TRIES 4

/* One page's request and reply: a list takes several, so it blocks. */
static enum upcall_status transact(struct upcall_session *s, const uint8_t *frame,
				   uint32_t type, struct upcall_reply *reply)
{
	struct upcall_request req;

	request_init(&req, type, reply);
	memcpy(req.frame, frame, UPCALL_FRAME_SIZE);
	return submit(s, &req);
}

/*
 * One pass over the list, page by page; UPCALL_ERR_GUEST with *@changed
 * set when the list changed under it, so that the caller starts over.
 */
static enum upcall_status list_pass(struct upcall_session *s, const struct list_kind *k,
				    void *devs, size_t max, size_t *count, bool *changed)
{
	union {
		struct upcall_mmio_dev mmio[UPCALL_MAX_MMIO_ENTRIES];
		struct upcall_pci_dev pci[UPCALL_MAX_PCI_ENTRIES];
	} page;
	uint8_t frame[UPCALL_FRAME_SIZE], last[sizeof(struct upcall_mmio_dev) +
					      sizeof(struct upcall_pci_dev)];
	struct upcall_list_head h, first = { 0 };
	uint32_t start = 0, tag = UPCALL_LIST_TAG_INIT;
	struct upcall_reply r;
	enum upcall_status st;

	do {
		upcall_encode_list(frame, k->type, start);
		st = transact(s, frame, k->type, &r);
		if (!st)
			st = k->decode(&r, start, &h, &page, &tag, s->errmsg, sizeof(s->errmsg));
		if (st)
			return st;
		if (start == 0)
			first = h;
		if (h.total != first.total || h.tag != first.tag) {
			*changed = true;
			return UPCALL_ERR_GUEST;
		}
		if (start && h.count && !k->after(last, &page))
			return upcall_fail(s, UPCALL_ERR_PROTOCOL,
					   "pages of the guest's list overlap or are out of order at entry %" PRIu32,
					   start);
		for (uint32_t i = 0; i < h.count; i++)
			if (start + i < max)
				memcpy((char *)devs + (start + i) * k->dsize,
				       (char *)&page + i * k->dsize, k->dsize);
		if (h.count)
			memcpy(last, (char *)&page + (h.count - 1) * k->dsize, k->dsize);
		start += h.count;
	} while (start < h.total);
	if (tag != h.tag)
		return upcall_fail(s, UPCALL_ERR_PROTOCOL,
				   "the guest's list does not match its tag (0x%08" PRIx32 ", entries give 0x%08" PRIx32 ")",
				   h.tag, tag);
	*count = h.total;
	return UPCALL_OK;
}

static enum upcall_status query_list(struct upcall_session *s, const struct list_kind *k,
				     void *devs, size_t max, size_t *count)
{
	char name[32];

	if (!count || (max && !devs))
		return upcall_fail(s, UPCALL_ERR_INVALID, "no room given for the list");
	if (s->nonblocking)
		return upcall_fail(s, UPCALL_ERR_INVALID,
				   "%s lists are read in pages, with blocking calls only",
				   upcall_msg_type_name(k->type, name, sizeof(name)));
	for (int i = 0; i < LIST_TRIES; i++) {
		bool changed = false;
		enum upcall_status st = list_pass(s, k, devs, max, count, &changed);

		if (!changed)
			return st;
	}
	return upcall_fail(s, UPCALL_ERR_PROTOCOL,
			   "the guest's %s list changed each of the %d times it was read",
			   upcall_msg_type_name(k->type, name, sizeof(name)), LIST_TRIES);
}

static enum upcall_status decode_mmio(const struct upcall_reply *r, uint32_t start,
				      struct upcall_list_head *h, void *devs, uint32_t *tag,
				      char *err, size_t errlen)
{
	return upcall_decode_mmio_page(r, start, h, devs, tag, err, errlen);
}

static bool mmio_after(const void *a, const void *b)
{
	return ((const struct upcall_mmio_dev *)b)->base >
	       ((const struct upcall_mmio_dev *)a)->base;
}

UPCALL_EXPORT
enum upcall_status upcall_query_mmio(struct upcall_session *s,
				     struct upcall_mmio_dev *devs, size_t max,
				     size_t *count)
{
	static const struct list_kind k = {
		UPCALL_MSG_QUERY_MMIO, sizeof(struct upcall_mmio_dev),
		decode_mmio, mmio_after,
	};

	return query_list(s, &k, devs, max, count);
}

static enum upcall_status decode_pci(const struct upcall_reply *r, uint32_t start,
				     struct upcall_list_head *h, void *devs, uint32_t *tag,
				     char *err, size_t errlen)
{
	return upcall_decode_pci_page(r, start, h, devs, tag, err, errlen);
}

static uint64_t pci_addr(const void *p)
{
	const struct upcall_pci_dev *d = p;

	return (uint64_t)d->segment << 16 | (uint32_t)d->bus << 8 | d->devfn;
}

static bool pci_after(const void *a, const void *b)
{
	return pci_addr(b) > pci_addr(a);
}

UPCALL_EXPORT
enum upcall_status upcall_query_pci(struct upcall_session *s,
				    struct upcall_pci_dev *devs, size_t max,
				    size_t *count)
{
	static const struct list_kind k = {
		UPCALL_MSG_QUERY_PCI, sizeof(struct upcall_pci_dev),
		decode_pci, pci_after,
	};

	return query_list(s, &k, devs, max, count);
}

UPCALL_EXPORT
bool upcall_unsupported(const struct upcall_session *s)
{
	return s->unsupported;
}
