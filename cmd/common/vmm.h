/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VMM side of a hot-plug: creating the vCPU or the DIMM that the guest
 * is then told about over upcall.  One small interface; each VMM API
 * (QEMU's QMP today, in qmp.c) fills in a struct vmm_ops, chosen by the
 * "vmm:" key of the VM's inventory entry.
 *
 * Every call is bounded by the session timeout (connecting and the
 * handshake share one deadline, each command has its own), and reports
 * with an upcall status and one line in vmm_errmsg():
 *   UPCALL_ERR_GUEST        the VMM refused (its own words quoted)
 *   UPCALL_ERR_INVALID      the request does not fit the VMM (no such slot)
 *   UPCALL_ERR_UNREACHABLE  no socket, refused, closed
 *   UPCALL_ERR_TIMEOUT      no answer in time
 *   UPCALL_ERR_PROTOCOL     an answer that is not what the API promises
 *   UPCALL_ERR_SYSTEM, UPCALL_ERR_CANCELLED as for upcall.
 */
#ifndef UPCALL_VMM_H
#define UPCALL_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <upcall/upcall.h>

enum vmm_kind { VMM_NONE, VMM_QMP };

#define VMM_ID_MAX	48	/* device and object ids, NUL included */
#define VMM_MAX_DIMMS	256	/* QEMU's most memory slots */
/* What the tools name the devices and backends they create. */
#define VMM_CPU_PREFIX	"upcall-cpu"
#define VMM_DIMM_PREFIX	"upcall-dimm"
#define VMM_MEM_PREFIX	"upcall-mem"

struct vmm_dimm {
	char id[VMM_ID_MAX];	/* device id; "" when it has none */
	uint64_t base;
	uint64_t size;
	bool ours;		/* made by the tools: VMM_DIMM_PREFIX */
	bool dimm;		/* a pc-dimm; other memory devices only take room */
};

struct vmm;

struct vmm_ops {
	const char *name;		/* "QMP" */
	enum upcall_status (*open)(struct vmm *v);
	void (*close)(struct vmm *v);	/* may be NULL: closing the socket is enough */
	/*
	 * Make the vCPUs with APIC IDs @ids[0..n) exist, in order.  Every ID
	 * is looked up (and an existing vCPU's ID checked) before any vCPU is
	 * made.  @created[i] says which were made by this call, also on
	 * failure; @have gets the APIC IDs of every vCPU the VMM has
	 * afterwards, ascending (*@nhave of them).  With dry_run: which
	 * would be made, and nothing is.
	 */
	enum upcall_status (*add_vcpus)(struct vmm *v, const uint8_t *ids, unsigned int n,
					bool *created, uint8_t *have, unsigned int *nhave);
	/* The memory devices, by base, into @d (room for VMM_MAX_DIMMS). */
	enum upcall_status (*list_dimms)(struct vmm *v, struct vmm_dimm *d, unsigned int *n);
	/*
	 * Make a DIMM of @size, at @base when @at, else where the VMM places
	 * it, and say where it went.  A VMM refusal leaves nothing behind.
	 * With dry_run: the DIMM it would make, base 0 when the VMM would pick.
	 */
	enum upcall_status (*add_dimm)(struct vmm *v, uint64_t size, bool at, uint64_t base,
				       struct vmm_dimm *out);
};

struct vmm {
	const struct vmm_ops *ops;
	char path[UPCALL_PATH_MAX];	/* the control socket */
	int timeout_ms;
	int cancel_fd;			/* readable: give up (cancel.h); -1: none */
	FILE *trace;			/* -v: every message on this stream */
	bool dry_run;			/* read, but make nothing: say what would be made */
	char err[600];
	/* the connection, for APIs that speak over one stream socket */
	int fd;
	char *buf;			/* received, not yet consumed */
	size_t len, cap;
	unsigned long next_id;
};

/* The inventory's word for @kind: "qmp". */
const char *vmm_kind_name(enum vmm_kind kind);

/* Set up @v for the VMM of kind @kind at @path; connects on first use. */
void vmm_init(struct vmm *v, enum vmm_kind kind, const char *path, int timeout_ms,
	      int cancel_fd, FILE *trace);
void vmm_close(struct vmm *v);
const char *vmm_errmsg(const struct vmm *v);

enum upcall_status vmm_add_vcpus(struct vmm *v, const uint8_t *ids, unsigned int n,
				 bool *created, uint8_t *have, unsigned int *nhave);
enum upcall_status vmm_list_dimms(struct vmm *v, struct vmm_dimm *d, unsigned int *n);
enum upcall_status vmm_add_dimm(struct vmm *v, uint64_t size, bool at, uint64_t base,
				struct vmm_dimm *out);

/* For implementations: the error line, and the status it goes with. */
enum upcall_status vmm_fail(struct vmm *v, enum upcall_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

extern const struct vmm_ops vmm_qmp_ops;

#endif /* UPCALL_VMM_H */
