/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Library-private declarations, shared with the unit tests and fuzzers. */
#ifndef UPCALL_INTERNAL_H
#define UPCALL_INTERNAL_H

#include <endian.h>
#include <string.h>

#include <upcall/upcall.h>

#define UPCALL_EXPORT __attribute__((visibility("default")))
#define UPCALL_ERRMSG_MAX 512
#define UPCALL_OK_LINE_MAX 32	/* "OK 4294967295\n" with room to spare */

static inline uint32_t upcall_get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t upcall_get_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

/*
 * Where an operation stands (async.c).  Each step does its I/O without
 * blocking and says what it waits for; the blocking calls poll for that.
 */
enum upcall_step {
	UPCALL_STEP_IDLE,
	UPCALL_STEP_CONNECT,		/* vsock connect() in progress: POLLOUT */
	UPCALL_STEP_CONNECT_RETRY,	/* Unix listen backlog full: retry at retry_ns */
	UPCALL_STEP_HYBRID_SEND,	/* "CONNECT <port>\n" */
	UPCALL_STEP_HYBRID_RECV,	/* "OK <n>\n", byte by byte */
	UPCALL_STEP_SERVICE_SEND,	/* the service byte */
	UPCALL_STEP_SERVICE_RECV,	/* the guest's CONNECT frame */
	UPCALL_STEP_REQ_SEND,
	UPCALL_STEP_REQ_RECV,
};

struct upcall_session;

/* One request, built by a typed call, sent once the session is connected. */
struct upcall_request {
	uint8_t frame[UPCALL_FRAME_SIZE];
	uint32_t type;
	unsigned int cpu_count;		/* CPUs the reply's index counts, or 0 */
	unsigned int req_count;		/* CPUs asked for (CPU requests) */
	struct upcall_reply *reply;	/* NULL: the session's own */
	/* Turns the reply's status into the call's (decode a list, ...). */
	enum upcall_status (*finish)(struct upcall_session *s,
				     enum upcall_status st);
	void *out;			/* the caller's result for @finish */
};

struct upcall_op {
	enum upcall_step step;
	bool has_request;		/* after connecting, send @req */
	uint64_t start_ns, deadline_ns, retry_ns;
	char what[UPCALL_PATH_MAX + 64];	/* "sending ADD_CPU": for errors */
	uint8_t io[UPCALL_FRAME_SIZE];	/* bytes of the current step */
	size_t len, done;
	struct upcall_request req;
	struct upcall_reply reply;	/* when the caller gave none */
	enum upcall_status result;	/* of the last operation */
};

struct upcall_session {
	struct upcall_target target;
	enum upcall_arch arch;
	int timeout_ms;
	int wait_ms;
	int fd;
	int watch_fd, watch_wd;	/* inotify for a missing socket; -1: none */
	bool retryable;		/* the last failure may pass: guest not up yet */
	upcall_frame_fn hook;
	void *hook_data;
	int cancel_fd;		/* readable: give up; -1: none */
	bool nonblocking;	/* calls start operations; process() runs them */
	struct upcall_op op;
	struct {
		uint64_t requests, connects, last_connect_ns, last_rtt_ns;
	} stats;
	bool unsupported;	/* the last request was refused as unknown */
	char errmsg[UPCALL_ERRMSG_MAX];
};

/* names.c: what refusal @ret means for a request of @type, or NULL. */
const char *upcall_errno_meaning(uint32_t type, int32_t ret, uint32_t msg_size);

/* session.c */
enum upcall_status upcall_fail(struct upcall_session *s, enum upcall_status st,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t upcall_now_ns(void);

/* session.c: the status of a decoded reply (refused, partial, ok). */
enum upcall_status upcall_reply_status(struct upcall_session *s,
				       const struct upcall_reply *r,
				       const struct upcall_request *req, const char *name);

/*
 * async.c: the protocol steps.  upcall_start_connect() opens the
 * connection (and sends @req once connected, if not NULL);
 * upcall_start_request() sends @req on the open connection.  Both return
 * UPCALL_IN_PROGRESS or the operation's final status; upcall_run() then
 * waits for it in blocking mode.
 */
enum upcall_status upcall_start_connect(struct upcall_session *s,
					const struct upcall_request *req);
enum upcall_status upcall_start_request(struct upcall_session *s,
					const struct upcall_request *req);
enum upcall_status upcall_run(struct upcall_session *s, enum upcall_status st);
/* Abandon the operation in progress, if any (the connection is closed). */
void upcall_op_abort(struct upcall_session *s);

/* transport.c */
/* Why connect(2) failed with @err, as a status and message. */
enum upcall_status upcall_connect_failed(struct upcall_session *s, int err,
					 const char *where);
/* Bind a source port below 1024 when we may (a guest's own module wants it). */
void upcall_bind_privileged_port(int fd);
/*
 * poll() @fd (-1: none) for @events for up to @ms, watching the caller's
 * cancel descriptor too.  Returns 1 ready, 0 not (time up or a signal),
 * -ECANCELED once the cancel descriptor is readable, or -errno.
 */
int upcall_poll(const struct upcall_session *s, int fd, short events, int ms);
/* True once the caller asked to give up. */
bool upcall_cancelled(const struct upcall_session *s);
/*
 * Sleep until the session's socket path may have appeared, @max_ms passed
 * or the caller cancelled (inotify); upcall_unwatch_path() ends the watch
 * when the wait is over.
 */
void upcall_wait_for_path(struct upcall_session *s, int max_ms);
void upcall_unwatch_path(struct upcall_session *s);
/* True when the idle connection has been closed or has unexpected bytes. */
bool upcall_transport_stale(const struct upcall_session *s);

/* codec.c: pure functions over 1024-byte frames */
void upcall_frame_init(uint8_t *frame, uint32_t type, uint32_t size);
enum upcall_status upcall_encode_cpu(uint8_t *frame, uint32_t type,
				     enum upcall_arch arch,
				     const struct upcall_cpu_request *req,
				     char *err, size_t errlen);
enum upcall_status upcall_encode_mem(uint8_t *frame, uint32_t type,
				     uint64_t base, uint64_t size,
				     char *err, size_t errlen);
enum upcall_status upcall_encode_mmio(uint8_t *frame, uint32_t type,
				      uint64_t base, uint64_t size, uint32_t irq,
				      char *err, size_t errlen);
void upcall_encode_pci(uint8_t *frame, uint32_t type, uint8_t busno,
		       uint8_t devfn);
enum upcall_status upcall_check_connect_frame(const uint8_t *frame, char *err,
					      size_t errlen);
/*
 * Checks magic, echoed type and msg_size; copies only msg_size bytes of
 * payload.  @cpu_count is the request's count for CPU types (else 0).
 */
enum upcall_status upcall_decode_reply(const uint8_t *frame, uint32_t type,
				       unsigned int cpu_count,
				       struct upcall_reply *reply,
				       char *err, size_t errlen);
/* Query extension payloads. */
enum upcall_status upcall_decode_cpu_list(const struct upcall_reply *reply,
					  struct upcall_id_list *cpus,
					  char *err, size_t errlen);
enum upcall_status upcall_decode_mem_list(const struct upcall_reply *reply,
					  struct upcall_range_list *mem,
					  char *err, size_t errlen);
/*
 * One page of QUERY_MMIO / QUERY_PCI asked from @start: checks the head
 * against the request and the reply's size, and every entry (non-empty
 * windows, IRQs in range, strictly ascending).  @h gets the head; @devs
 * room for UPCALL_MAX_*_ENTRIES; *@tag goes on with upcall_list_tag() over
 * the page's entries, so that after the last page it equals h->tag.
 */
void upcall_encode_list(uint8_t *frame, uint32_t type, uint32_t start);
enum upcall_status upcall_decode_mmio_page(const struct upcall_reply *reply,
					   uint32_t start, struct upcall_list_head *h,
					   struct upcall_mmio_dev *devs, uint32_t *tag,
					   char *err, size_t errlen);
enum upcall_status upcall_decode_pci_page(const struct upcall_reply *reply,
					  uint32_t start, struct upcall_list_head *h,
					  struct upcall_pci_dev *devs, uint32_t *tag,
					  char *err, size_t errlen);
/* Parse the VMM's "OK <n>\n" line (without validation of n's meaning). */
int upcall_parse_ok_line(const char *line, size_t len, uint32_t *host_port);

#endif /* UPCALL_INTERNAL_H */
