// SPDX-License-Identifier: GPL-2.0-or-later
/* Recorded hot-plug requests shared by upcallctl, vcpuctl and memctl. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hotplug.h"

int hp_begin(struct cli *cli, struct vm_record *r, struct upcall_session *s,
	     bool cpus, bool mem)
{
	int rc = record_open(cli, r, false);

	return rc ? rc : record_refresh(r, s, cpus, mem);
}

/*
 * The pending mark says a request may have reached the guest.  Connect
 * first, so that a guest that cannot be reached leaves no mark.
 */
static int mark_pending(struct cli *cli, struct vm_record *r, struct upcall_session *s,
			const char *what)
{
	enum upcall_status st = upcall_connect(s);

	return st ? cli_finish(cli, st) : record_save(r, what);
}

/* Did a reply say what happened?  Otherwise the outcome is unknown. */
static bool replied(enum upcall_status st)
{
	return st == UPCALL_OK || st == UPCALL_ERR_PARTIAL || st == UPCALL_ERR_GUEST;
}

static unsigned int cpus_done(const struct cpu_change *c, const struct upcall_reply *rp,
			      bool x86)
{
	uint32_t i = rp->cpu_index;
	unsigned int done;

	if (rp->msg_size < sizeof(uint32_t))
		return c->st == UPCALL_OK ? c->n : 0;
	if (x86)
		done = i;
	else if (c->add)	/* aarch64: the CPU id after the last one onlined */
		done = i > c->ids[0] ? i - c->ids[0] : 0;
	else			/* aarch64: the lowest CPU id taken offline */
		done = c->ids[0] + 1U > i ? c->ids[0] + 1U - i : 0;
	return done < c->n ? done : c->n;
}

static void report_cpus(struct cli *cli, const struct cpu_change *c,
			const struct upcall_reply *rp, bool x86)
{
	char list[ID_LIST_MAX];

	cli_set(cli, "requested", json_integer(c->n));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(c->ids, c->n));
	if (!replied(c->st))
		return;
	cli_set(cli, "ret", json_integer(rp->ret));
	cli_set(cli, "done", json_id_array(c->ids, c->done));
	cli_set(cli, "not_done", json_id_array(c->ids + c->done, c->n - c->done));
	if (!c->done)
		return;
	format_id_list(c->ids, c->done, list, sizeof(list));
	cli_say(cli, "%s %u vCPU%s (%s%s %s)%s", c->add ? "added" : "removed", c->done,
		c->done == 1 ? "" : "s", x86 ? "APIC ID" : "CPU id", c->done == 1 ? "" : "s", list,
		c->done == c->n ? "" : "; the rest were not");
}

/*
 * "guest replied -17 (File exists) to ADD_MEM", without the library's
 * list of what that errno may mean: for when the record says which.
 */
static void refusal_head(char *buf, size_t len, const struct upcall_reply *rp)
{
	char name[32];

	snprintf(buf, len, "guest replied %" PRId32 " (%s) to %s", rp->ret,
		 strerror(-rp->ret), upcall_msg_type_name(rp->msg_type, name, sizeof(name)));
}

int hp_cpu_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  struct cpu_change *c)
{
	struct upcall_cpu_request req = { .count = c->n, .apic_ver = c->apic_ver };
	bool x86 = cli->arch == UPCALL_ARCH_X86_64;
	struct upcall_reply rp;
	char what[ID_LIST_MAX + 32], list[ID_LIST_MAX];
	int rc;

	format_id_list(c->ids, c->n, list, sizeof(list));
	snprintf(what, sizeof(what), "%s vCPUs %s", c->add ? "add" : "remove", list);
	if ((rc = mark_pending(cli, r, s, what)))
		return rc;
	memcpy(req.apic_ids, c->ids, c->n);
	memset(&rp, 0, sizeof(rp));
	c->st = c->add ? upcall_add_cpu(s, &req, &rp) : upcall_del_cpu(s, &req, &rp);
	c->done = replied(c->st) ? cpus_done(c, &rp, x86) : 0;
	report_cpus(cli, c, &rp, x86);
	if (!replied(c->st))	/* outcome unknown: the pending mark stays */
		return cli_finish(cli, c->st);
	(c->add ? state_cpus_add : state_cpus_del)(&r->st, c->ids, c->done);
	if ((rc = record_save(r, "")))
		return rc;
	/* Only a guess without the guest's own list: said as one. */
	if (c->st == UPCALL_ERR_GUEST && c->add && rp.ret == -EINVAL && !r->from_guest) {
		cli_set(cli, "status", json_text(upcall_status_name(c->st)));
		return cli_fail(cli, EXIT_REFUSED,
				"%s; if it is the first, the record of VM %s is out of date: check the guest's online CPUs, then run 'vcpuctl --vm %s sync --apic-ids LIST'",
				upcall_errmsg(s), r->e->label, cli->vm ? cli->vm : r->e->label);
	}
	return cli_finish(cli, c->st);
}

/*
 * A refusal contradicts the record when the guest already has a range the
 * record knows nothing overlapping, or lacks the one the record lists; a
 * refusal the record agrees with (upcallctl asks the guest nothing first)
 * says nothing about the record.
 */
static bool mem_contradicts(const struct vm_record *r, bool add, uint64_t base,
			    uint64_t size, int32_t ret)
{
	if (r->from_guest)
		return false;
	if (add)
		return ret == -EEXIST &&
		       state_mem_overlap(&r->st, base, size) < 0;
	return ret == -ENOENT && state_mem_containing(&r->st, base, size) >= 0;
}

int hp_mem_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  bool add, uint64_t base, uint64_t size)
{
	struct upcall_reply rp;
	enum upcall_status st;
	char what[128], sz[32];
	int rc;

	if (state_mem_no_room(&r->st, add, base, size))
		return cli_fail(cli, EXIT_USAGE,
				"VM %s: its record already holds %d memory ranges, the most it can (%s)",
				r->e->label, UPCALL_MAX_MEM_RANGES,
				add ? "remove one first" : "remove a whole range, not part of one");
	snprintf(what, sizeof(what), "%s memory 0x%" PRIx64 "+0x%" PRIx64,
		 add ? "add" : "remove", base, size);
	if ((rc = mark_pending(cli, r, s, what)))
		return rc;
	memset(&rp, 0, sizeof(rp));
	st = add ? upcall_add_mem(s, base, size, &rp) : upcall_del_mem(s, base, size, &rp);
	if (!replied(st))
		return cli_finish(cli, st);
	if (st == UPCALL_OK) {
		if ((add ? state_mem_add : state_mem_del)(&r->st, base, size))
			fprintf(cli->err,
				"%s: notice: VM %s: the record %s that range, so it is out of date (check the guest, then use the sync command)\n",
				cli->prog, r->e->label, add ? "already had" : "did not have");
		format_size(size, sz, sizeof(sz));
		cli_say(cli, "%s %s of memory at 0x%" PRIx64 "-0x%" PRIx64,
			add ? "added" : "removed", sz, base, base + size - 1);
	}
	if ((rc = record_save(r, "")))
		return rc;
	if (st == UPCALL_ERR_GUEST && mem_contradicts(r, add, base, size, rp.ret)) {
		char head[96];

		refusal_head(head, sizeof(head), &rp);
		cli_set(cli, "status", json_text(upcall_status_name(st)));
		return cli_fail(cli, EXIT_REFUSED,
				"%s: the record of VM %s is out of date (the guest %s that range); check the guest, then run 'memctl --vm %s sync --ranges BASE+SIZE,...'",
				head, r->e->label, add ? "already has" : "does not have",
				cli->vm ? cli->vm : r->e->label);
	}
	return cli_finish(cli, st);
}
