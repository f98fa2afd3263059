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
#define STUB_ID_MAX		48	/* QMP device and object ids */
#define STUB_MAX_DIMMS		32
#define STUB_MAX_BACKENDS	64
#define STUB_MISSING_VCPU_MS	100
/* What every emulated PCI function says it is: a virtio network card. */
#define STUB_PCI_VENDOR		0x1af4
#define STUB_PCI_DEVICE		0x1000
#define STUB_PCI_CLASS		0x020000

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
	bool no_index;
	int refuse_errno;		/* errno=N; 0 = off */
	unsigned int fail_cpu;		/* 1-based; 0 = off */
	unsigned int stop_cpu;		/* 1-based; 0 = off */
	unsigned int slow_drip_ms;	/* 0 = off */
	unsigned int reply_after_ms;	/* 0 = off */
	unsigned long exit_after;	/* 0 = off */
};

struct stub_config {
	const char *socket_path;
	const char *qmp_path;		/* --qmp: the VMM's QMP socket */
	const char *state_file;
	const char *pid_file;
	__u32 port;
	enum stub_arch arch;
	unsigned int boot_vcpus;
	unsigned int max_vcpus;
	__u64 block_size;
	bool no_query;
	bool upstream;			/* --upstream: answer as upstream does */
	bool vmm_vcpus_set;		/* --vmm-vcpus given */
	bool vmm_vcpus[STUB_MAX_CPUS];
	unsigned int missing_vcpu_ms;	/* ADD_CPU's wait for a vCPU the VMM lacks */
	int verbose;
	struct stub_faults faults;
};

struct stub_mmio {
	__u64 base;
	__u64 size;
	__u32 irq;
};

/* The emulated VMM's memory: a backend object, and a pc-dimm on one. */
struct stub_backend {
	char id[STUB_ID_MAX];
	__u64 size;
	bool used;
};

struct stub_dimm {
	char id[STUB_ID_MAX];
	char memdev[STUB_ID_MAX];
	__u64 base;
	__u64 size;
};

/* The emulated guest and VMM; every field is protected by stub.lock. */
struct stub_state {
	bool cpu_online[STUB_MAX_CPUS];
	bool vcpu_made[STUB_MAX_CPUS];			/* the VMM has this vCPU */
	char vcpu_id[STUB_MAX_CPUS][STUB_ID_MAX];	/* its QMP id, if device_add made it */
	struct stub_backend backends[STUB_MAX_BACKENDS];
	unsigned int nbackends;
	struct stub_dimm dimms[STUB_MAX_DIMMS];		/* ascending */
	unsigned int ndimms;
	struct upcall_mem mem[UPCALL_MAX_MEM_RANGES];	/* ascending */
	unsigned int nmem;
	struct stub_mmio mmio[STUB_MAX_MMIO];		/* ascending */
	unsigned int nmmio;
	__u8 pci_present[STUB_PCI_SLOTS / 8];
	__u8 pci_added[STUB_PCI_SLOTS / 8];		/* present through ADD_PCI */
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
	int qmp_fd;			/* -1 without --qmp */
	int stop_rd;			/* readable (EOF) once shutting down */
	int stop_wr;
	dev_t sock_dev;			/* identity of the socket file we made */
	ino_t sock_ino;
	dev_t qmp_dev;			/* and of the QMP socket */
	ino_t qmp_ino;
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

/* upstream.c: --upstream's replies */
bool stub_upstream_unknown(const struct stub *st, const struct upcall_msg_header *h);
int stub_upstream_cpu(struct stub *st, bool add, const struct upcall_cpu_x86 *c,
		      __u32 *index);
/* -EEXIST for a window already there; 1 when the default checks decide. */
int stub_upstream_mmio_add(struct stub_state *s, const struct upcall_mmio *m);

/* state.c: the state file */
int stub_state_write(struct stub *st);

/* transport.c: listener, hybrid vsock, frames */
/* Create, bind (mode 0600) and listen at @path; the fd, or -1 with a message. */
int stub_listen(const char *path, dev_t *dev, ino_t *ino);
/* Unlink @path, but only if it is still the socket file we created. */
void stub_unlink_socket(const char *path, dev_t dev, ino_t *ino);
int stub_wait_readable(struct stub *st, int fd, int timeout_ms);
ssize_t stub_read_full(int fd, void *buf, size_t len);
int stub_write_full(int fd, const void *buf, size_t len);
int stub_send_slow(struct stub *st, int fd, const void *buf, size_t len);
void stub_serve(struct stub *st, int fd);

/* qmp.c: a small QMP server, the emulated VMM's control socket */
void stub_qmp_serve(struct stub *st, int fd);

/* conn.c: one thread per connection, upcall's or (@qmp) QMP's */
int stub_conn_start(struct stub *st, int fd, bool qmp);
void stub_conn_reap(struct stub *st, bool all);

#define stub_log(st, ...)						\
	do {								\
		if ((st)->cfg.verbose)					\
			fprintf(stderr, "upcall-stub: " __VA_ARGS__);	\
	} while (0)

#endif /* UPCALL_STUB_H */
