/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libupcall: drive the upcall device-manager service of a running VM.
 *
 * A session owns one connection to one guest and carries one request at a
 * time (the protocol is strict ping-pong).  Sessions share nothing, so
 * threads may each use their own.  Every call that can block is bounded by
 * the session's timeout; in non-blocking mode (see "Event loop" below) none
 * blocks, and one thread can drive many sessions.  Functions that can fail
 * return an enum upcall_status and leave a one-line diagnosis in
 * upcall_errmsg().
 */
#ifndef UPCALL_H
#define UPCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <upcall/wire.h>

#ifdef __cplusplus
extern "C" {
#endif

enum upcall_status {
	UPCALL_OK = 0,
	UPCALL_ERR_GUEST,	/* the guest refused: negative errno in the reply */
	UPCALL_ERR_PARTIAL,	/* a CPU request was carried out only in part */
	UPCALL_ERR_INVALID,	/* bad argument from the caller; nothing was sent */
	UPCALL_ERR_UNREACHABLE,	/* no socket, refused, no listener in the guest */
	UPCALL_ERR_TIMEOUT,	/* a step took longer than the session timeout */
	UPCALL_ERR_PROTOCOL,	/* the peer broke the protocol */
	UPCALL_ERR_SYSTEM,	/* local failure: memory, descriptors, ... */
	UPCALL_ERR_CANCELLED,	/* the caller's interrupt flag was raised */
	UPCALL_IN_PROGRESS,	/* non-blocking mode: not done yet; no error */
};

enum upcall_transport {
	UPCALL_TRANSPORT_UNIX,	/* hybrid vsock: "CONNECT <port>\n" over AF_UNIX */
	UPCALL_TRANSPORT_VSOCK,	/* native AF_VSOCK */
};

enum upcall_arch {
	UPCALL_ARCH_X86_64,
	UPCALL_ARCH_AARCH64,
};

#define UPCALL_PATH_MAX 108	/* sizeof(sockaddr_un.sun_path) */

struct upcall_target {
	enum upcall_transport transport;
	char path[UPCALL_PATH_MAX];	/* UNIX */
	uint32_t cid;			/* VSOCK */
	uint32_t port;			/* guest vsock port, 1..1024 */
};

/*
 * Parse "PATH", "unix:PATH" or "vsock:CID[:PORT]".  A port given in the
 * spec wins over @default_port (0 means UPCALL_DEFAULT_PORT).
 * Returns 0, or -1 with a message in @err.
 */
int upcall_target_parse(const char *spec, uint32_t default_port,
			struct upcall_target *t, char *err, size_t errlen);
/* "unix:/run/vm.sock" or "vsock:3:219" */
void upcall_target_format(const struct upcall_target *t, char *buf, size_t len);

/* Frame observer: @tx true for frames we send.  Called with full frames. */
typedef void (*upcall_frame_fn)(void *data, bool tx, const uint8_t *frame,
				size_t len);

struct upcall_session;

/*
 * NULL with errno EINVAL for a target upcall_target_parse would refuse
 * (an unterminated or empty path, port above 1024, CID 0, 2 or -1), or
 * ENOMEM.  Port 0 means UPCALL_DEFAULT_PORT.
 */
struct upcall_session *upcall_session_new(const struct upcall_target *t);
void upcall_session_free(struct upcall_session *s);

/*
 * The setters return 0, or -EINVAL for a value out of range, which
 * changes nothing.
 *
 * Each connect attempt and each request must finish within @timeout_ms;
 * 0 restores the default, UPCALL_DEFAULT_TIMEOUT_MS.
 */
#define UPCALL_DEFAULT_TIMEOUT_MS 5000
int upcall_session_set_timeout(struct upcall_session *s, int timeout_ms);
/*
 * How CPU requests are checked and their replies read (an aarch64 guest
 * takes a count, no APIC IDs).  The default is upcall_host_arch().
 */
int upcall_session_set_arch(struct upcall_session *s, enum upcall_arch arch);
void upcall_session_set_frame_hook(struct upcall_session *s, upcall_frame_fn fn,
				   void *data);
/*
 * Once @fd is readable (or closed), every wait of the session ends: the
 * request, or the wait for a booting guest, is abandoned with
 * UPCALL_ERR_CANCELLED and the connection closed (a late reply would
 * otherwise be read as the answer to the next request).  The library
 * never reads from @fd, so one descriptor can cancel any number of
 * sessions in any threads at once: the read end of a pipe that a signal
 * handler writes a byte to, or an eventfd.  -1 (the default) removes it.
 * Returns 0, or -EBADF for a descriptor that is not open.
 */
int upcall_session_set_cancel_fd(struct upcall_session *s, int fd);

const struct upcall_target *upcall_session_target(const struct upcall_session *s);
enum upcall_arch upcall_session_arch(const struct upcall_session *s);

/*
 * Keep trying to connect for up to @wait_ms when the guest is not there yet
 * (socket missing, VMM not listening, no listener on the vsock port), as
 * while a VM boots.  0 (the default) fails at once.
 */
int upcall_session_set_wait(struct upcall_session *s, int wait_ms);

/* Connect and complete the handshake; does nothing if already connected. */
enum upcall_status upcall_connect(struct upcall_session *s);
void upcall_disconnect(struct upcall_session *s);
bool upcall_is_connected(const struct upcall_session *s);

/*
 * Event loop (non-blocking mode), after sd-bus: a program drives many
 * sessions from one thread with its own poll/epoll loop.  Once
 * upcall_session_set_nonblocking(s, true), upcall_connect() and every
 * request call (upcall_add_cpu() ... upcall_query_mem()) only start the
 * operation, connecting first when needed, and return UPCALL_IN_PROGRESS,
 * or its final status when that is known without waiting (a refused
 * argument, a missing socket).  The result pointers given to the call
 * (@reply, @cpus, @mem) must stay valid until the operation ends.  Then:
 *
 *   upcall_session_get_fd()      the descriptor to watch, or -1; it changes
 *                                when the session connects anew, so ask
 *                                again after every process()
 *   upcall_session_get_events()  POLLIN or POLLOUT (equal to EPOLLIN,
 *                                EPOLLOUT); 0 while only the timeout counts
 *   upcall_session_get_timeout() the absolute CLOCK_MONOTONIC time in
 *                                microseconds at which to call process()
 *                                even if the descriptor is not ready (the
 *                                step's deadline, after the session's
 *                                timeout); UINT64_MAX when idle
 *   upcall_session_process()     go on without blocking: UPCALL_IN_PROGRESS,
 *                                or the operation's final status, with the
 *                                same message in upcall_errmsg() and the
 *                                same results the blocking call gives
 *
 * One operation at a time per session; starting another while one is in
 * progress fails with UPCALL_ERR_INVALID.  The cancel descriptor is looked
 * at by process(); upcall_disconnect() abandons an operation
 * (UPCALL_ERR_CANCELLED).  upcall_session_set_wait() applies to the
 * blocking upcall_connect() only: a non-blocking connect is one attempt.
 * set_nonblocking() returns 0, or -EBUSY while an operation is in progress.
 */
int upcall_session_set_nonblocking(struct upcall_session *s, bool nonblocking);
int upcall_session_get_fd(const struct upcall_session *s);
int upcall_session_get_events(const struct upcall_session *s);
uint64_t upcall_session_get_timeout(const struct upcall_session *s);
enum upcall_status upcall_session_process(struct upcall_session *s);

/* Counters of a session; later versions may add keys, never renumber. */
enum upcall_stat {
	UPCALL_STAT_REQUESTS,		/* request frames answered */
	UPCALL_STAT_CONNECTS,		/* successful handshakes */
	UPCALL_STAT_LAST_CONNECT_NS,	/* connect + handshake of the last connect */
	UPCALL_STAT_LAST_RTT_NS,	/* request sent to reply read */
};
/* The counter @key; 0 for a key this version does not know. */
uint64_t upcall_session_stat(const struct upcall_session *s, enum upcall_stat key);

/* Last diagnosis, e.g. "guest replied -22 (Invalid argument) to ADD_CPU". */
const char *upcall_errmsg(const struct upcall_session *s);

/* Decoded reply to one request. */
struct upcall_reply {
	uint32_t msg_type;	/* echoed type */
	uint32_t msg_size;	/* payload bytes after ret */
	int32_t ret;		/* 0 or negative errno */
	uint32_t cpu_index;	/* CPU requests: first not handled, or UPCALL_CPU_INDEX_UNKNOWN */
	uint8_t payload[UPCALL_REPLY_PAYLOAD_MAX];	/* msg_size bytes valid */
};

/*
 * cpu_index of a failed request of several CPUs whose reply carried no
 * index (msg_size < 4): the guest did not say how far it got; the CPUs
 * before the failing one may be done.  Comes with UPCALL_ERR_PARTIAL.
 */
#define UPCALL_CPU_INDEX_UNKNOWN UINT32_MAX

struct upcall_cpu_request {
	unsigned int count;			/* 1..255 */
	uint8_t apic_ver;			/* x86_64 only */
	uint8_t apic_ids[UPCALL_MAX_APIC_IDS];	/* x86_64 only: count IDs */
};

/*
 * Typed requests.  Each connects first if needed, validates its arguments
 * before anything is sent, and fills @reply (may be NULL) whenever a reply
 * frame was read, including when the guest refused.
 */
enum upcall_status upcall_add_cpu(struct upcall_session *s,
				  const struct upcall_cpu_request *req,
				  struct upcall_reply *reply);
enum upcall_status upcall_del_cpu(struct upcall_session *s,
				  const struct upcall_cpu_request *req,
				  struct upcall_reply *reply);
enum upcall_status upcall_add_mem(struct upcall_session *s, uint64_t base,
				  uint64_t size, struct upcall_reply *reply);
enum upcall_status upcall_del_mem(struct upcall_session *s, uint64_t base,
				  uint64_t size, struct upcall_reply *reply);
enum upcall_status upcall_add_mmio(struct upcall_session *s, uint64_t base,
				   uint64_t size, uint32_t irq,
				   struct upcall_reply *reply);
enum upcall_status upcall_del_mmio(struct upcall_session *s, uint64_t base,
				   uint64_t size, uint32_t irq,
				   struct upcall_reply *reply);
enum upcall_status upcall_add_pci(struct upcall_session *s, uint8_t busno,
				  uint8_t devfn, struct upcall_reply *reply);
enum upcall_status upcall_del_pci(struct upcall_session *s, uint8_t busno,
				  uint8_t devfn, struct upcall_reply *reply);

/* Query extension; UPCALL_ERR_GUEST from a guest that does not know it. */
struct upcall_id_list {
	unsigned int count;
	uint8_t ids[UPCALL_MAX_APIC_IDS];
};
struct upcall_range {
	uint64_t base;
	uint64_t size;
};
struct upcall_range_list {
	unsigned int count;
	struct upcall_range ranges[UPCALL_MAX_MEM_RANGES];
};
enum upcall_status upcall_query_cpus(struct upcall_session *s,
				     struct upcall_id_list *cpus);
enum upcall_status upcall_query_mem(struct upcall_session *s,
				    struct upcall_range_list *mem);

/* Paged list queries (extension, since 0.2). */
struct upcall_mmio_dev {
	uint64_t base;		/* the window */
	uint64_t size;
	uint32_t irq;
};
struct upcall_pci_dev {
	uint32_t segment;	/* PCI domain */
	uint8_t bus;
	uint8_t devfn;		/* device << 3 | function */
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code;	/* base class << 16 | subclass << 8 | prog-if */
	uint32_t flags;		/* UPCALL_PCI_ADDED: it appeared in an ADD_PCI */
};
/*
 * Read the whole list, as many pages as it takes: the virtio-mmio devices
 * added through upcall in ascending order of base, or every PCI function on
 * the guest's buses in ascending order of address.  *@count is set to the
 * length of the guest's list; the first min(*@count, @max) entries are
 * stored in @devs (which may be NULL when @max is 0).  A list that keeps
 * changing while it is read gives UPCALL_ERR_PROTOCOL.
 */
enum upcall_status upcall_query_mmio(struct upcall_session *s,
				     struct upcall_mmio_dev *devs, size_t max,
				     size_t *count);
enum upcall_status upcall_query_pci(struct upcall_session *s,
				    struct upcall_pci_dev *devs, size_t max,
				    size_t *count);
/*
 * True when the guest refused the last request as one it does not serve:
 * -1 without payload (an upstream guest's answer to any type it does not
 * know) or -EOPNOTSUPP.  For a query: the guest cannot list that.
 */
bool upcall_unsupported(const struct upcall_session *s);
/*
 * Send a hand-built request: header with @type and msg_size @len, then
 * @payload.  No validation beyond the frame size: for testing guests.
 */
enum upcall_status upcall_send_raw(struct upcall_session *s, uint32_t type,
				   const void *payload, size_t len,
				   struct upcall_reply *reply);

/* "ADD_CPU", "QUERY_MEM", or "TYPE_0x1234" style for unknown types. */
const char *upcall_msg_type_name(uint32_t type, char *buf, size_t len);
const char *upcall_status_name(enum upcall_status st);
const char *upcall_arch_name(enum upcall_arch arch);
int upcall_arch_parse(const char *name, enum upcall_arch *arch);
enum upcall_arch upcall_host_arch(void);
const char *upcall_version(void);

#ifdef __cplusplus
}
#endif

#endif /* UPCALL_H */
