/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: a VMM's hybrid-vsock socket with a guest upcall driver
 * behind it, emulated in one process for tests.
 *
 * One struct stub holds the configuration and the emulated guest state;
 * it is created in main() and passed to everything else.
 */
#ifndef UPCALL_STUB_H
#define UPCALL_STUB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <upcall/wire.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "upcall-stub builds frames in host byte order: little-endian hosts only"
#endif

/* Exit codes (sysexits.h values). */
enum {
	STUB_EXIT_OK = 0,
	STUB_EXIT_USAGE = 64,
	STUB_EXIT_OSERR = 71,
};

#define STUB_MAX_CPUS		UPCALL_MAX_APIC_IDS	/* APIC IDs are a u8 */
#define STUB_MAX_MMIO		64
#define STUB_PCI_SLOTS		65536			/* bus << 8 | devfn */
#define STUB_FIRST_HOST_PORT	1073741824U
#define STUB_CONNECT_LINE_MAX	32
#define STUB_LAST_MAX		1200

enum stub_arch { STUB_ARCH_X86_64, STUB_ARCH_AARCH64 };

struct stub_faults {
	bool no_listener;
	bool no_connect_frame;
	bool bad_magic;
	bool wrong_type;
	bool no_reply;
	bool short_reply;
	bool close_mid_frame;
	bool garbage_ok;
	bool endless_ok;
	bool lie_index;
	int refuse_errno;		/* errno=N; 0 = off */
	unsigned int fail_cpu;		/* 1-based; 0 = off */
	unsigned int stop_cpu;		/* 1-based; 0 = off */
	unsigned int slow_drip_ms;	/* 0 = off */
	unsigned int reply_after_ms;	/* 0 = off */
	unsigned long exit_after;	/* 0 = off */
};

struct stub_config {
	const char *socket_path;
	const char *state_file;
	const char *pid_file;
	__u32 port;
	enum stub_arch arch;
	unsigned int boot_vcpus;
	unsigned int max_vcpus;
	__u64 block_size;
	bool no_query;
	int verbose;
	struct stub_faults faults;
};

struct stub_mmio {
	__u64 base;
	__u64 size;
	__u32 irq;
};

/* The emulated guest; every field is protected by stub.lock. */
struct stub_state {
	bool cpu_online[STUB_MAX_CPUS];
	struct upcall_mem mem[UPCALL_MAX_MEM_RANGES];	/* ascending */
	unsigned int nmem;
	struct stub_mmio mmio[STUB_MAX_MMIO];		/* ascending */
	unsigned int nmmio;
	__u8 pci_present[STUB_PCI_SLOTS / 8];
	unsigned long requests;
	char last[STUB_LAST_MAX];
	__u32 next_host_port;
};

struct stub_conn;

struct stub {
	struct stub_config cfg;
	pthread_mutex_t lock;		/* state, conns */
	struct stub_state state;
	struct stub_conn *conns;
	int listen_fd;
	int stop_rd;			/* readable (EOF) once shutting down */
	int stop_wr;
	dev_t sock_dev;			/* identity of the socket file we made */
	ino_t sock_ino;
	bool pid_written;
};

/* main.c: command line */
int stub_parse_args(struct stub *st, int argc, char **argv);

/* faults.c */
int stub_fault_parse(struct stub_faults *f, const char *spec, char *err, size_t errlen);
void stub_fault_mangle_reply(const struct stub_faults *f, __u8 *frame);
int stub_sleep_ms(struct stub *st, unsigned int ms);

/* devmgr.c: the guest's device manager */
void stub_state_init(struct stub *st);
void stub_pci_set(struct stub_state *s, unsigned int bus, unsigned int devfn, bool present);
bool stub_pci_get(const struct stub_state *s, unsigned int bus, unsigned int devfn);
void stub_handle_frame(struct stub *st, const __u8 *req, __u8 *reply);
/* A decimal number in [min, max]; 0 or -1. */
int stub_parse_ulong(const char *s, unsigned long min, unsigned long max,
		     unsigned long *out);
const char *stub_type_name(__u32 type, char *buf, size_t len);

/* state.c: the state file */
int stub_state_write(struct stub *st);

/* transport.c: listener, hybrid vsock, frames */
int stub_listen(struct stub *st);
void stub_unlink_socket(struct stub *st);
int stub_wait_readable(struct stub *st, int fd, int timeout_ms);
ssize_t stub_read_full(int fd, void *buf, size_t len);
int stub_write_full(int fd, const void *buf, size_t len);
int stub_send_slow(struct stub *st, int fd, const void *buf, size_t len);
void stub_serve(struct stub *st, int fd);

/* conn.c: one thread per connection */
int stub_conn_start(struct stub *st, int fd);
void stub_conn_reap(struct stub *st, bool all);

#define stub_log(st, ...)						\
	do {								\
		if ((st)->cfg.verbose)					\
			fprintf(stderr, "upcall-stub: " __VA_ARGS__);	\
	} while (0)

#endif /* UPCALL_STUB_H */
