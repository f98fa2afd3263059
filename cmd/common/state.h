/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-VM state record: online vCPU IDs and plugged memory ranges, one
 * YAML file per VM in the state directory, shared by every binary.  All
 * changes happen under a per-VM lock held from reading to writing, and the
 * file is replaced atomically, so concurrent operators serialize.
 */
#ifndef UPCALL_STATE_H
#define UPCALL_STATE_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include <upcall/upcall.h>

#include "error.h"
#include "inventory.h"
#include "vmm.h"

#define STATE_DIR_ROOT	"/run/upcall"

#define STATE_DOC							\
	"State records live in $UPCALL_STATE_DIR, else " STATE_DIR_ROOT	\
	" for root, else $XDG_RUNTIME_DIR/upcall."

struct vm_state {
	unsigned int ncpus;
	uint8_t cpus[UPCALL_MAX_APIC_IDS];	/* ascending */
	unsigned int nmem;
	struct upcall_range mem[UPCALL_MAX_MEM_RANGES];	/* by base */
	/* IDs of a CPU request whose reply did not say how far it got: each may
	 * be online or not; resolved by a query or a sync ("uncertain" key) */
	unsigned int nuncertain;
	uint8_t uncertain[UPCALL_MAX_APIC_IDS];	/* ascending */
	char identity[200];	/* the endpoint the record was written for */
	char pending[UPCALL_MAX_APIC_IDS * 5 + 32];	/* an operation not recorded yet */
	/* What the VMM had when last asked (the "vmm" key): *_seen once it was. */
	bool vmm_cpus_seen, vmm_dimms_seen;
	unsigned int nvmm_cpus;
	uint8_t vmm_cpus[UPCALL_MAX_APIC_IDS];	/* APIC IDs of its vCPUs, ascending */
	unsigned int nvmm_dimms;
	struct vmm_dimm vmm_dimms[VMM_MAX_DIMMS];	/* its pc-dimms, by base */
};

struct vm_entry;

/* Who works on a record, and how: the command line's part. */
struct record_opts {
	const char *prog;	/* leads notices, names the lock's holder */
	FILE *notices;		/* where notices go (not errors: see vm_record.error) */
	int timeout_ms;		/* a lock waiter waits LOCK_WAIT_TIMEOUTS of these */
	bool no_wait;		/* a busy VM fails at once (EXIT_BUSY) */
	bool verbose;		/* say when a guest does not answer queries */
	bool dry_run;		/* write nothing */
};

/* A lock waiter gives up after this many --timeout (20 s by default). */
#define LOCK_WAIT_TIMEOUTS	4
/* Bytes of "TOOL PID SINCE COMMAND" a lock holder writes into its lock file. */
#define LOCK_INFO_MAX		512

struct vm_record {
	struct record_opts opts;
	const struct vm_entry *e;
	int dirfd;
	int lockfd;
	bool locked;		/* lockfd holds the VM's lock */
	char lockname[VM_NAME_MAX + 8];
	char path[PATH_MAX];	/* of the record file, for messages */
	char identity[200];	/* of the endpoint now */
	struct vm_state st;
	struct vm_state saved;	/* what the file holds, when have_saved */
	bool have_saved;
	char unreadable[PATH_MAX + 200];	/* why the record could not be read */
	char prev_pending[sizeof(((struct vm_state *)0)->pending)];
	bool from_guest;	/* the guest answered a query this time */
	struct ucerr error;	/* why the last call below failed */
};

/*
 * The calls below print no error: each returns an exit code and, on
 * failure, says why in r->error (the caller reports it).  Notices go to
 * opts.notices.
 *
 * Lock the record of @e (which must outlive @r) and load it; a missing
 * record, or one written for an endpoint that has since changed (with a
 * notice), starts from the inventory's boot state.  With @reseed an
 * unreadable record is no error.
 */
int record_open(struct vm_record *r, const struct record_opts *o, const struct vm_entry *e,
		bool reseed);
/*
 * Ask the guest what it has (query extension, @cpus and/or @mem) and adopt
 * the answer, which settles an interrupted request of that kind.  A guest
 * without the extension is no error: the record stands (hp_begin() says
 * what to run for a request left unrecorded).  A failed query is
 * r->error.st.
 */
int record_refresh(struct vm_record *r, struct upcall_session *s, bool cpus,
		   bool mem);
/*
 * Write the record, noting @what as in flight ("" when nothing is, NULL to
 * keep the note); a record that would read back as it is now is left
 * alone, so a read-only command writes nothing.
 */
int record_save(struct vm_record *r, const char *what);
/*
 * The request last noted in flight was refused before it was sent: the
 * note it replaced comes back.
 */
int record_unsent(struct vm_record *r);
/* Let go of the lock (removing its file) and the state directory. */
void record_close(struct vm_record *r);

/*
 * @in as the record stores it: valid UTF-8 as it is, a backslash as "\\",
 * any other byte (not UTF-8, or a control character) as "\xNN".
 */
void state_escape(const char *in, char *out, size_t len);

/* Adopt what the VMM said it has: its vCPUs, or its memory devices (pc-dimms kept). */
void state_vmm_cpus(struct vm_state *st, const uint8_t *ids, unsigned int n);
void state_vmm_dimms(struct vm_state *st, const struct vmm_dimm *d, unsigned int n);

/* "0,1,4", or "none" */
void state_format_ids(const uint8_t *ids, unsigned int n, char *buf, size_t len);

/* Set operations on the record (pure). */
void state_cpus_add(struct vm_state *st, const uint8_t *ids, unsigned int n);
void state_cpus_del(struct vm_state *st, const uint8_t *ids, unsigned int n);
void state_cpus_set(struct vm_state *st, const uint8_t *ids, unsigned int n);
/* Mark @ids uncertain (added to the list), or known again (taken out of it). */
void state_uncertain_add(struct vm_state *st, const uint8_t *ids, unsigned int n);
void state_uncertain_del(struct vm_state *st, const uint8_t *ids, unsigned int n);
/* Index of a recorded range overlapping [base, base+size), or -1. */
int state_mem_overlap(const struct vm_state *st, uint64_t base, uint64_t size);
/* Index of the recorded range containing [base, base+size), or -1. */
int state_mem_containing(const struct vm_state *st, uint64_t base, uint64_t size);
/* Returns -1 when the record is full. */
int state_mem_add(struct vm_state *st, uint64_t base, uint64_t size);
/* Cut [base, base+size) out of the range containing it; -1 if none or full. */
int state_mem_del(struct vm_state *st, uint64_t base, uint64_t size);
/*
 * Would the record lack room for the change (it holds UPCALL_MAX_MEM_RANGES
 * ranges at most)?  Overlaps and unknown ranges are for the guest to judge.
 */
bool state_mem_no_room(const struct vm_state *st, bool add, uint64_t base, uint64_t size);
/*
 * Lowest @align-aligned base in @regions where @size fits beside every
 * recorded range.  Returns 0, or -1 when nothing fits.
 */
int state_mem_place(const struct vm_state *st, const struct upcall_range *regions,
		    unsigned int nregions, uint64_t align, uint64_t size,
		    uint64_t *base);

#endif /* UPCALL_STATE_H */
