/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hot-plug requests that keep the state record right: the record is locked
 * and refreshed before, marked with the request while it is in flight, and
 * updated with what the reply says was done.
 */
#ifndef UPCALL_HOTPLUG_H
#define UPCALL_HOTPLUG_H

#include "cli.h"
#include "inventory.h"
#include "state.h"

/*
 * record_open(), record_save() and record_unsent() for @cli's command: a
 * failure is reported on @cli.  Each returns an exit code.
 */
int hp_record_open(struct cli *cli, struct vm_record *r, bool reseed);
int hp_record_save(struct cli *cli, struct vm_record *r, const char *what);
int hp_record_unsent(struct cli *cli, struct vm_record *r);

/*
 * Lock and load the record of the VM of session @s (from cli_session()),
 * and ask the guest what it has (@cpus, @mem); a request the record still
 * marks as in flight gets a notice naming the exact command that settles
 * it.  Returns an exit code, reported on failure; call record_close()
 * either way.
 */
int hp_begin(struct cli *cli, struct vm_record *r, struct upcall_session *s,
	     bool cpus, bool mem);
/* "memctl --vm VM" (@tool), with --config when one was given: for hints. */
void hp_tool(const struct cli *cli, const struct vm_record *r, const char *tool,
	     char *buf, size_t len);
/* Does the record hold an interrupted request about vCPUs (@cpus) or memory? */
bool hp_pending_is(const struct vm_record *r, bool cpus);

struct cpu_change {
	bool add;
	unsigned int n;
	uint8_t ids[UPCALL_MAX_APIC_IDS];	/* x86_64: APIC IDs; aarch64: CPU ids */
	uint8_t apic_ver;
	enum upcall_status st;			/* of the request */
	unsigned int done;			/* ids[0..done) were handled */
};

/*
 * Send the change, record and report what was done.  Returns the exit code
 * to finish with (already reported when the record could not be written or
 * the record turned out stale).
 */
int hp_cpu_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  struct cpu_change *c);
/*
 * The same for a memory range.  @made names the DIMM the VMM made for an
 * add (NULL: none): a guest that refuses it leaves the change partial.
 */
int hp_mem_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  bool add, uint64_t base, uint64_t size, const char *made);
/*
 * Before an add on a VM with a VMM: reuse a DIMM the tools made that the
 * guest no longer has, of @size (at *@base if @have_base), or make one
 * (at *@base, else in the inventory's regions, else where the VMM puts
 * it).  *@base gets the DIMM's base; @made (VMM_ID_MAX bytes) its id when
 * it is new, else "".  Returns an exit code, reported on failure; the
 * guest is not told anything here.
 */
int hp_vmm_dimm(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		uint64_t size, bool have_base, uint64_t *base, char *made);

#endif /* UPCALL_HOTPLUG_H */
