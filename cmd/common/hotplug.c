// SPDX-License-Identifier: GPL-2.0-or-later
/* Recorded hot-plug requests shared by upcallctl, vcpuctl and memctl. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cancel.h"
#include "hotplug.h"
#include "vmm.h"

void hp_tool(const struct cli *cli, const struct vm_record *r, const char *tool,
	     char *buf, size_t len)
{
	const char *vm = cli->vm ? cli->vm : r->e->label;

	if (cli->config)
		snprintf(buf, len, "%s --config %s --vm %s", tool, cli->config, vm);
	else
		snprintf(buf, len, "%s --vm %s", tool, vm);
}

/* What the record holds in flight, as mark_pending() wrote it. */
struct pending {
	bool cpus, add;
	unsigned int n;
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	uint64_t base, size;
};

static bool parse_pending(const char *p, struct pending *pd)
{
	char *end;

	memset(pd, 0, sizeof(*pd));
	if (!strncmp(p, "add ", 4))
		pd->add = true;
	else if (strncmp(p, "remove ", 7))
		return false;
	p = strchr(p, ' ') + 1;
	if (!strncmp(p, "memory ", 7))
		return sscanf(p + 7, "0x%" SCNx64 "+0x%" SCNx64, &pd->base, &pd->size) == 2;
	if (strncmp(p, "vCPUs ", 6))
		return false;
	pd->cpus = true;
	for (p += 6; *p && pd->n < UPCALL_MAX_APIC_IDS; p = end) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v > 255)
			return false;
		pd->ids[pd->n++] = (uint8_t)v;
		end += strspn(end, ", ");
	}
	return pd->n > 0;
}

/* "0,1,4": the form --apic-ids takes */
static void join_ids(const uint8_t *ids, unsigned int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u", i ? "," : "", ids[i]);
}

/* "0x100000000+0x8000000,...", or "none": the form --ranges takes */
static void join_ranges(const struct vm_state *st, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "none");
	for (unsigned int i = 0; i < st->nmem && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s0x%" PRIx64 "+0x%" PRIx64,
					i ? "," : "", st->mem[i].base, st->mem[i].size);
}

/*
 * The record marks a request that may have reached the guest: say the
 * exact command that settles it.  A guest that answers queries is asked
 * by 'sync' alone; otherwise the record is right as it is if the request
 * was not done, and needs the list after it if it was.  @asked: the guest
 * was asked a query (r->from_guest says whether it answered).
 */
#define HOW "an earlier request was interrupted before its result was recorded"

static void pending_notice(struct cli *cli, const struct vm_record *r, bool asked)
{
	struct vm_state *after = malloc(sizeof(*after));
	char cmd[PATH_MAX + 64], was[ID_LIST_MAX + 2000], done[ID_LIST_MAX + 2000];
	struct pending pd;
	bool known = parse_pending(r->st.pending, &pd);

	hp_tool(cli, r, known && !pd.cpus ? "memctl" : "vcpuctl", cmd, sizeof(cmd));
	if (!known || !after || r->from_guest) {
		fprintf(cli->err, "%s: notice: VM %s: %s (%s)%s; run '%s sync'%s\n", cli->prog,
			r->e->label, HOW, r->st.pending,
			r->from_guest ? "" : ", so the record may be out of date",
			known ? cmd : "vcpuctl|memctl --vm VM",
			r->from_guest ? " to take the guest's answer into the record" :
			" with the lists the guest really has");
		free(after);
		return;
	}
	*after = r->st;
	if (pd.cpus) {
		(pd.add ? state_cpus_add : state_cpus_del)(after, pd.ids, pd.n);
		join_ids(r->st.cpus, r->st.ncpus, was, sizeof(was));
		join_ids(after->cpus, after->ncpus, done, sizeof(done));
	} else {
		if (pd.add)
			state_mem_add(after, pd.base, pd.size);
		else
			state_mem_del(after, pd.base, pd.size);
		join_ranges(&r->st, was, sizeof(was));
		join_ranges(after, done, sizeof(done));
	}
	if (asked)
		fprintf(cli->err, "%s: notice: VM %s: %s (%s), and the guest does not answer queries: ",
			cli->prog, r->e->label, HOW, r->st.pending);
	else
		fprintf(cli->err, "%s: notice: VM %s: %s (%s): run '%s sync' if the guest answers queries; otherwise ",
			cli->prog, r->e->label, HOW, r->st.pending, cmd);
	fprintf(cli->err, "check the guest, then run '%s sync %s %s' if it was done, or '%s sync %s %s' if it was not\n",
		cmd, pd.cpus ? "--apic-ids" : "--ranges", done, cmd,
		pd.cpus ? "--apic-ids" : "--ranges", was);
	free(after);
}

int hp_record_open(struct cli *cli, struct vm_record *r, bool reseed)
{
	struct record_opts o = {
		.prog = cli->prog, .notices = cli->err, .timeout_ms = cli->timeout_ms,
		.no_wait = cli->no_wait, .verbose = cli->verbose, .dry_run = cli->dry_run,
	};

	return record_open(r, &o, cli->entry, reseed) ? cli_report(cli, &r->error) : EXIT_DONE;
}

int hp_record_save(struct cli *cli, struct vm_record *r, const char *what)
{
	return record_save(r, what) ? cli_report(cli, &r->error) : EXIT_DONE;
}

int hp_record_unsent(struct cli *cli, struct vm_record *r)
{
	return record_unsent(r) ? cli_report(cli, &r->error) : EXIT_DONE;
}

int hp_begin(struct cli *cli, struct vm_record *r, struct upcall_session *s,
	     bool cpus, bool mem)
{
	int rc = hp_record_open(cli, r, false);

	if (!rc && record_refresh(r, s, cpus, mem))
		rc = cli_report(cli, &r->error);
	if (!rc && *r->st.pending)
		pending_notice(cli, r, cpus || mem);
	return rc;
}

bool hp_pending_is(const struct vm_record *r, bool cpus)
{
	struct pending pd;

	return *r->st.pending && (!parse_pending(r->st.pending, &pd) || pd.cpus == cpus);
}

/*
 * The pending mark says a request may have reached the guest.  Connect
 * first, so that a guest that cannot be reached leaves no mark.
 */
static int mark_pending(struct cli *cli, struct vm_record *r, struct upcall_session *s,
			const char *what)
{
	enum upcall_status st = upcall_connect(s);

	return st ? cli_finish(cli, st) : hp_record_save(cli, r, what);
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
	const char *kind = x86 ? "APIC ID" : "CPU id", *verb = c->add ? "added" : "removed";
	unsigned int left = c->n - c->done;
	char list[ID_LIST_MAX], rest[ID_LIST_MAX + 64] = "";

	cli_set(cli, "requested", json_integer(c->n));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(c->ids, c->n));
	if (!replied(c->st))
		return;
	cli_set(cli, "ret", json_integer(rp->ret));
	cli_set(cli, "done", json_id_array(c->ids, c->done));
	cli_set(cli, "not_done", json_id_array(c->ids + c->done, left));
	if (!c->done)
		return;
	if (left) {
		format_id_list(c->ids + c->done, left, list, sizeof(list));
		snprintf(rest, sizeof(rest), "; %s%s %s %s not %s", kind, left == 1 ? "" : "s",
			 list, left == 1 ? "was" : "were", verb);
	}
	format_id_list(c->ids, c->done, list, sizeof(list));
	cli_say(cli, "%s %u vCPU%s (%s%s %s)%s", verb, c->done, c->done == 1 ? "" : "s",
		kind, c->done == 1 ? "" : "s", list, rest);
}

/* The VMM's half of a change: what it made, and what it keeps. */

static void vmm_open(struct cli *cli, const struct vm_record *r, struct vmm *v)
{
	vmm_init(v, r->e->vmm, r->e->vmm_path, cli->timeout_ms, cancel_fd(),
		 cli->verbose ? cli->err : NULL);
	v->dry_run = cli->dry_run;
}

static void say_vcpus(struct cli *cli, bool made, const uint8_t *ids, unsigned int n)
{
	const char *s = n == 1 ? "" : "s";
	char list[ID_LIST_MAX];

	if (!n)
		return;
	format_id_list(ids, n, list, sizeof(list));
	if (made)
		cli_say(cli, "%s %u vCPU%s in the VMM (APIC ID%s %s)",
			cli->dry_run ? "would create" : "created", n, s, s, list);
	else
		cli_say(cli, "%s %u vCPU%s the VMM already %s (APIC ID%s %s)",
			cli->dry_run ? "would reuse" : "reused", n, s,
			cli->dry_run ? "has" : "had", s, list);
}

/*
 * Before ADD_CPU: the VMM makes the vCPUs it does not have yet.  A VMM
 * that fails leaves the guest untold.  Returns an exit code, reported on
 * failure; @new_ids gets the APIC IDs of the vCPUs it made (*@made).
 */
static int vmm_add_cpus(struct cli *cli, struct vm_record *r, const struct cpu_change *c,
			uint8_t *new_ids, unsigned int *made)
{
	uint8_t have[UPCALL_MAX_APIC_IDS], old_ids[UPCALL_MAX_APIC_IDS];
	bool created[UPCALL_MAX_APIC_IDS];
	unsigned int nhave = 0, nold = 0;
	enum upcall_status st;
	char list[ID_LIST_MAX];
	struct vmm v;
	int rc;

	*made = 0;
	if (cli->arch != UPCALL_ARCH_X86_64)
		return cli_fail(cli, EXIT_USAGE,
				"VM %s: its VMM makes vCPUs for x86_64 guests only (this one is aarch64)",
				r->e->label);
	vmm_open(cli, r, &v);
	st = vmm_add_vcpus(&v, c->ids, c->n, created, have, &nhave);
	vmm_close(&v);
	for (unsigned int i = 0; i < c->n; i++)
		if (created[i])
			new_ids[(*made)++] = c->ids[i];
		else if (!st)
			old_ids[nold++] = c->ids[i];
	cli_set(cli, "vmm", json_pack("{s:o, s:o}", cli->dry_run ? "create" : "created",
				      json_id_array(new_ids, *made),
				      "existing", json_id_array(old_ids, nold)));
	say_vcpus(cli, true, new_ids, *made);
	say_vcpus(cli, false, old_ids, nold);
	if (nhave)
		state_vmm_cpus(&r->st, have, nhave);
	if (!st)
		return EXIT_DONE;
	if ((rc = hp_record_save(cli, r, NULL)))
		return rc;
	cli_set(cli, "status", json_text(upcall_status_name(st)));
	if (!*made)
		return cli_fail(cli, cli_exit_code(st), "%s", vmm_errmsg(&v));
	format_id_list(new_ids, *made, list, sizeof(list));
	return cli_fail(cli, EXIT_PARTIAL,
			"%s; the guest was told nothing, and the VMM keeps the vCPU%s it made (APIC ID%s %s)",
			vmm_errmsg(&v), *made == 1 ? "" : "s", *made == 1 ? "" : "s", list);
}

/* After ADD_CPU: made vCPUs the guest did not take make the outcome partial. */
static int vmm_not_taken(struct cli *cli, struct upcall_session *s, const struct cpu_change *c,
			 const uint8_t *made_ids, unsigned int made)
{
	uint8_t left[UPCALL_MAX_APIC_IDS];
	unsigned int n = 0;
	char list[ID_LIST_MAX];

	for (unsigned int i = c->done; i < c->n; i++)
		if (memchr(made_ids, c->ids[i], made))
			left[n++] = c->ids[i];
	if (!n)
		return cli_finish(cli, c->st);
	format_id_list(left, n, list, sizeof(list));
	cli_set(cli, "status", json_text(upcall_status_name(UPCALL_ERR_PARTIAL)));
	return cli_fail(cli, EXIT_PARTIAL, "%s; the VMM keeps the vCPU%s it made for %s (APIC ID%s %s)",
			upcall_errmsg(s), n == 1 ? "" : "s", n == 1 ? "it" : "them",
			n == 1 ? "" : "s", list);
}

/* After DEL_CPU: QEMU completes an unplug only through the guest's ACPI. */
static void vmm_kept_cpus(struct cli *cli, const struct cpu_change *c)
{
	cli_set(cli, "vmm", json_pack("{s:o}", "kept", json_id_array(c->ids, c->done)));
	if (c->done)
		cli_say(cli, "the VMM keeps %s vCPU%s: QEMU unplugs one only through the guest's ACPI; adding %s again reuses %s",
			c->done == 1 ? "that" : "those", c->done == 1 ? "" : "s",
			c->done == 1 ? "it" : "them", c->done == 1 ? "it" : "them");
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

/*
 * The guest failed the request without saying how far it got (an upstream
 * guest fills the index in on success only).  Ask it; a guest that cannot
 * answer leaves the request's CPUs uncertain in the record, counted
 * neither as done nor as not done, until a query or a sync.
 */
static int cpus_unknown(struct cli *cli, struct vm_record *r, struct upcall_session *s,
			struct cpu_change *c, const struct upcall_reply *rp, bool x86)
{
	char msg[512], list[ID_LIST_MAX];
	const char *vm = cli->vm ? cli->vm : r->e->label;
	struct upcall_id_list on;
	int rc;

	snprintf(msg, sizeof(msg), "%s", upcall_errmsg(s));
	cli_set(cli, "requested", json_integer(c->n));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(c->ids, c->n));
	cli_set(cli, "ret", json_integer(rp->ret));
	if (upcall_query_cpus(s, &on) == UPCALL_OK) {
		/* in order, up to the first failure: changed from before the request */
		for (c->done = 0; c->done < c->n; c->done++)
			if (!memchr(on.ids, c->ids[c->done], on.count) == c->add ||
			    !memchr(r->st.cpus, c->ids[c->done], r->st.ncpus) != c->add)
				break;
		state_cpus_set(&r->st, on.ids, on.count);
		r->st.nuncertain = 0;
		report_cpus(cli, c, rp, x86);
		if ((rc = hp_record_save(cli, r, "")))
			return rc;
		cli_set(cli, "source", json_text("guest"));
		cli_set(cli, "status", json_text(upcall_status_name(c->done ? UPCALL_ERR_PARTIAL :
									 UPCALL_ERR_GUEST)));
		return cli_fail(cli, c->done ? EXIT_PARTIAL : EXIT_REFUSED,
				"%s; asked, the guest reports %u of them done", msg, c->done);
	}
	c->done = 0;
	state_uncertain_add(&r->st, c->ids, c->n);
	cli_set(cli, "uncertain", json_id_array(c->ids, c->n));
	if ((rc = hp_record_save(cli, r, "")))
		return rc;
	format_id_list(c->ids, c->n, list, sizeof(list));
	cli_set(cli, "status", json_text(upcall_status_name(UPCALL_ERR_PARTIAL)));
	return cli_fail(cli, EXIT_PARTIAL,
			"%s, and it does not answer queries: %s%s %s of VM %s %s marked uncertain; check the guest, then run 'vcpuctl --vm %s sync --apic-ids LIST'",
			msg, x86 ? "APIC ID" : "CPU id", c->n == 1 ? "" : "s", list, r->e->label,
			c->n == 1 ? "is" : "are", vm);
}

/* --dry-run: the request that would be sent, and nothing sent. */
static int dry_cpus(struct cli *cli, const struct cpu_change *c, bool x86)
{
	char list[ID_LIST_MAX], ver[32] = "";

	format_id_list(c->ids, c->n, list, sizeof(list));
	cli_set(cli, "dry_run", json_true());
	cli_set(cli, "request", json_text(c->add ? "ADD_CPU" : "DEL_CPU"));
	cli_set(cli, "requested", json_integer(c->n));
	cli_set(cli, x86 ? "apic_ids" : "cpu_ids", json_id_array(c->ids, c->n));
	if (x86)
		cli_set(cli, "apic_ver", json_integer(c->apic_ver));
	if (x86 && c->add)
		snprintf(ver, sizeof(ver), " (APIC version 0x%x)", c->apic_ver);
	cli_say(cli, "would %s %u vCPU%s (%s%s %s) with %s%s; nothing sent",
		c->add ? "add" : "remove", c->n, c->n == 1 ? "" : "s", x86 ? "APIC ID" : "CPU id",
		c->n == 1 ? "" : "s", list, c->add ? "ADD_CPU" : "DEL_CPU", ver);
	return cli_finish(cli, UPCALL_OK);
}

int hp_cpu_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  struct cpu_change *c)
{
	struct upcall_cpu_request req = { .count = c->n, .apic_ver = c->apic_ver };
	bool x86 = cli->arch == UPCALL_ARCH_X86_64, vmm = r->e->vmm != VMM_NONE;
	uint8_t made_ids[UPCALL_MAX_APIC_IDS];
	struct upcall_reply rp;
	char what[ID_LIST_MAX + 32], list[ID_LIST_MAX];
	unsigned int made = 0;
	enum upcall_status st;
	int rc;

	if (cli->dry_run && !(vmm && c->add))
		return dry_cpus(cli, c, x86);

	/* a guest that cannot be reached gets no vCPU made for it either */
	if (vmm && c->add && (st = upcall_connect(s)))
		return cli_finish(cli, st);
	if (vmm && c->add && (rc = vmm_add_cpus(cli, r, c, made_ids, &made)))
		return rc;
	if (cli->dry_run)
		return dry_cpus(cli, c, x86);
	format_id_list(c->ids, c->n, list, sizeof(list));
	snprintf(what, sizeof(what), "%s vCPUs %s", c->add ? "add" : "remove", list);
	if ((rc = mark_pending(cli, r, s, what)))
		return rc;
	memcpy(req.apic_ids, c->ids, c->n);
	memset(&rp, 0, sizeof(rp));
	c->st = c->add ? upcall_add_cpu(s, &req, &rp) : upcall_del_cpu(s, &req, &rp);
	if (c->st == UPCALL_ERR_PARTIAL && rp.cpu_index == UPCALL_CPU_INDEX_UNKNOWN)
		return cpus_unknown(cli, r, s, c, &rp, x86);
	c->done = replied(c->st) ? cpus_done(c, &rp, x86) : 0;
	report_cpus(cli, c, &rp, x86);
	if (vmm && !c->add && replied(c->st))
		vmm_kept_cpus(cli, c);
	if (c->st == UPCALL_ERR_INVALID && (rc = hp_record_unsent(cli, r)))	/* never sent */
		return rc;
	if (!replied(c->st))	/* outcome unknown: the pending mark stays */
		return cli_finish(cli, c->st);
	(c->add ? state_cpus_add : state_cpus_del)(&r->st, c->ids, c->done);
	state_uncertain_del(&r->st, c->ids, c->done);
	if ((rc = hp_record_save(cli, r, "")))
		return rc;
	if (made && c->st != UPCALL_OK)
		return vmm_not_taken(cli, s, c, made_ids, made);
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

static int no_room(struct cli *cli, const struct vm_record *r, bool add)
{
	return cli_fail(cli, EXIT_USAGE,
			"VM %s: its record already holds %d memory ranges, the most it can (%s)",
			r->e->label, UPCALL_MAX_MEM_RANGES,
			add ? "remove one first" : "remove a whole range, not part of one");
}

static bool overlaps(uint64_t b1, uint64_t s1, uint64_t b2, uint64_t s2)
{
	return b1 < b2 + s2 && b2 < b1 + s1;
}

/* A range in the guest, or a memory device in the VMM, over [base, base+size)? */
static const struct upcall_range *taken(const struct vm_state *st, const struct vmm_dimm *d,
					unsigned int nd, uint64_t base, uint64_t size,
					struct upcall_range *buf)
{
	int o = state_mem_overlap(st, base, size);

	if (o >= 0)
		return &st->mem[o];
	for (unsigned int i = 0; i < nd; i++)
		if (overlaps(base, size, d[i].base, d[i].size)) {
			*buf = (struct upcall_range){ d[i].base, d[i].size };
			return buf;
		}
	return NULL;
}

/* The lowest block-aligned base in the regions that neither guest nor VMM uses. */
static bool place_beside(const struct vm_record *r, const struct vmm_dimm *d, unsigned int nd,
			 uint64_t size, uint64_t *base)
{
	const uint64_t align = r->e->block_size;
	struct upcall_range buf;

	for (unsigned int i = 0; i < r->e->nregions; i++) {
		const struct upcall_range *g = &r->e->regions[i], *t;
		uint64_t b = g->base;

		while (b >= g->base && b + size > b && b + size <= g->base + g->size) {
			if (!(t = taken(&r->st, d, nd, b, size, &buf))) {
				*base = b;
				return true;
			}
			b = (t->base + t->size + align - 1) / align * align;
		}
	}
	return false;
}

static bool in_regions(const struct vm_entry *e, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < e->nregions; i++)
		if (base >= e->regions[i].base &&
		    base + size <= e->regions[i].base + e->regions[i].size)
			return true;
	return !e->nregions;
}

/* A DIMM the tools made that the guest no longer uses, of @size (at @base if @at). */
static const struct vmm_dimm *reusable(const struct vm_record *r, const struct vmm_dimm *d,
				       unsigned int nd, uint64_t size, bool at, uint64_t base)
{
	for (unsigned int i = 0; i < nd; i++)
		if (d[i].ours && d[i].size == size && (!at || d[i].base == base) &&
		    !(d[i].base % r->e->block_size) && in_regions(r->e, d[i].base, size) &&
		    state_mem_overlap(&r->st, d[i].base, size) < 0)
			return &d[i];
	return NULL;
}

/* Where the VMM put a new DIMM must suit the guest: else it stays there unused. */
static int check_placed(struct cli *cli, const struct vm_record *r, const struct vmm_dimm *d)
{
	const char *why = NULL;
	char sz[32];

	if (d->base % r->e->block_size)
		why = "is not a multiple of the guest's memory block size";
	else if (!in_regions(r->e, d->base, d->size))
		why = "is outside the VM's hot-add regions";
	else if (state_mem_overlap(&r->st, d->base, d->size) >= 0)
		why = "overlaps memory the guest has (the record may be out of date)";
	if (!why)
		return EXIT_DONE;
	format_size(d->size, sz, sizeof(sz));
	cli_set(cli, "status", json_text(upcall_status_name(UPCALL_ERR_PARTIAL)));
	return cli_fail(cli, EXIT_PARTIAL,
			"VM %s: the VMM put DIMM %s (%s) at 0x%" PRIx64 ", which %s; the guest was told nothing, and the DIMM stays in the VMM",
			r->e->label, d->id, sz, d->base, why);
}

/*
 * Reuse a DIMM for @size (at @base if @at), or make one: at @base, else in
 * the regions beside every memory device, else where the VMM puts it.  The
 * VMM's status; *@dimm is the DIMM unless that failed before it was found
 * or made (*@is_new says made).  @d gets the VMM's devices (*@nd).
 */
static enum upcall_status get_dimm(const struct vm_record *r, struct vmm *v,
				   struct vmm_dimm *d, unsigned int *nd, uint64_t size,
				   bool at, uint64_t base, struct vmm_dimm *dimm, bool *is_new)
{
	enum upcall_status st = vmm_list_dimms(v, d, nd);
	const struct vmm_dimm *old = st ? NULL : reusable(r, d, *nd, size, at, base);
	char sz[32];

	*is_new = false;
	if (old)
		*dimm = *old;
	if (st || old)
		return st;
	if (!at && r->e->nregions && !(at = place_beside(r, d, *nd, size, &base))) {
		format_size(size, sz, sizeof(sz));
		return vmm_fail(v, UPCALL_ERR_INVALID,
				"no free room for %s in the hot-add regions of VM %s beside the VMM's memory devices (see 'memctl list')",
				sz, r->e->label);
	}
	if ((st = vmm_add_dimm(v, size, at, base, dimm)))
		return st;
	*is_new = true;
	return vmm_list_dimms(v, d, nd);
}

static void report_dimm(struct cli *cli, const struct vmm_dimm *d, bool is_new)
{
	json_t *o = json_pack("{s:s}", "dimm", d->id);
	char sz[32];

	json_set_addr(o, "base", d->base);
	json_set_addr(o, "size", d->size);
	json_object_set_new(o, cli->dry_run ? "create" : "created", json_boolean(is_new));
	cli_set(cli, "vmm", o);
	format_size(d->size, sz, sizeof(sz));
	if (cli->dry_run && is_new && !d->base)
		cli_say(cli, "would create in the VMM: DIMM %s (%s where the VMM places it)", d->id, sz);
	else if (cli->dry_run && is_new)
		cli_say(cli, "would create in the VMM: DIMM %s (%s at 0x%" PRIx64 ")", d->id, sz, d->base);
	else if (cli->dry_run)
		cli_say(cli, "would reuse the VMM's DIMM, which the guest no longer has: %s (%s at 0x%" PRIx64 ")",
			d->id, sz, d->base);
	else if (is_new)
		cli_say(cli, "created in the VMM: DIMM %s (%s at 0x%" PRIx64 ")", d->id, sz, d->base);
	else
		cli_say(cli, "reused the VMM's DIMM, which the guest no longer had: %s (%s at 0x%" PRIx64 ")",
			d->id, sz, d->base);
}

int hp_vmm_dimm(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		uint64_t size, bool have_base, uint64_t *base, char *made)
{
	struct vmm_dimm *d, dimm;
	unsigned int nd = 0;
	enum upcall_status st;
	bool is_new = false;
	struct vmm v;
	int rc;

	made[0] = '\0';
	if (r->st.nmem == UPCALL_MAX_MEM_RANGES)
		return no_room(cli, r, true);
	/* a guest that cannot be reached gets no DIMM made for it either */
	if ((st = upcall_connect(s)))
		return cli_finish(cli, st);
	if (!(d = calloc(VMM_MAX_DIMMS, sizeof(*d))))
		return cli_fail(cli, EXIT_OSERR, "out of memory");
	vmm_open(cli, r, &v);
	st = get_dimm(r, &v, d, &nd, size, have_base, *base, &dimm, &is_new);
	vmm_close(&v);
	if (nd && !cli->dry_run)
		state_vmm_dimms(&r->st, d, nd);
	free(d);
	if (!st || is_new) {
		report_dimm(cli, &dimm, is_new);
		*base = dimm.base;
	}
	if (is_new)
		snprintf(made, VMM_ID_MAX, "%s", dimm.id);
	if (st && (rc = hp_record_save(cli, r, NULL)))
		return rc;
	if (st) {
		cli_set(cli, "status", json_text(upcall_status_name(is_new ? UPCALL_ERR_PARTIAL : st)));
		if (is_new)
			return cli_fail(cli, EXIT_PARTIAL,
					"%s; the guest was told nothing, and the VMM keeps DIMM %s",
					vmm_errmsg(&v), dimm.id);
		return cli_fail(cli, cli_exit_code(st), "%s", vmm_errmsg(&v));
	}
	if (is_new && !cli->dry_run && (rc = check_placed(cli, r, &dimm))) {
		hp_record_save(cli, r, NULL);
		return rc;
	}
	return EXIT_DONE;
}

/* After DEL_MEM: the DIMMs behind the range stay in the VMM. */
static void vmm_kept_dimms(struct cli *cli, const struct vm_record *r, uint64_t base,
			   uint64_t size)
{
	json_t *kept = json_array();
	char names[200] = "", sz[32];
	uint64_t last = 0;
	size_t len = 0;

	for (unsigned int i = 0; i < r->st.nvmm_dimms; i++) {
		const struct vmm_dimm *d = &r->st.vmm_dimms[i];

		if (!overlaps(base, size, d->base, d->size))
			continue;
		json_array_append_new(kept, json_text(d->id));
		last = d->size;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						len ? ", " : "", d->id[0] ? d->id : "(no id)");
	}
	cli_set(cli, "vmm", json_pack("{s:o}", "kept", kept));
	format_size(last, sz, sizeof(sz));
	if (json_array_size(kept) == 1)
		cli_say(cli, "the VMM keeps DIMM %s: QEMU unplugs one only through the guest's ACPI; 'memctl add %s' reuses it",
			names, sz);
	else if (len)
		cli_say(cli, "the VMM keeps DIMMs %s: QEMU unplugs one only through the guest's ACPI; adds of their sizes reuse them",
			names);
	else
		cli_say(cli, "the VMM keeps the memory behind that range: QEMU unplugs a DIMM only through the guest's ACPI");
}

/* --dry-run: the request that would be sent (base 0: the new DIMM's), and nothing sent. */
static int dry_mem(struct cli *cli, bool add, uint64_t base, uint64_t size)
{
	char sz[32];

	format_size(size, sz, sizeof(sz));
	cli_set(cli, "dry_run", json_true());
	cli_set(cli, "request", json_text(add ? "ADD_MEM" : "DEL_MEM"));
	if (!base)
		cli_say(cli, "would add %s of memory at the base the VMM gives the new DIMM with ADD_MEM; nothing sent",
			sz);
	else
		cli_say(cli, "would %s %s of memory at 0x%" PRIx64 "-0x%" PRIx64 " with %s; nothing sent",
			add ? "add" : "remove", sz, base, base + size - 1, add ? "ADD_MEM" : "DEL_MEM");
	return cli_finish(cli, UPCALL_OK);
}

int hp_mem_change(struct cli *cli, struct vm_record *r, struct upcall_session *s,
		  bool add, uint64_t base, uint64_t size, const char *made)
{
	struct upcall_reply rp;
	enum upcall_status st;
	char what[128], sz[32];
	int rc;

	if (state_mem_no_room(&r->st, add, base, size))
		return no_room(cli, r, add);
	if (cli->dry_run)
		return dry_mem(cli, add, base, size);
	snprintf(what, sizeof(what), "%s memory 0x%" PRIx64 "+0x%" PRIx64,
		 add ? "add" : "remove", base, size);
	if ((rc = mark_pending(cli, r, s, what)))
		return rc;
	memset(&rp, 0, sizeof(rp));
	st = add ? upcall_add_mem(s, base, size, &rp) : upcall_del_mem(s, base, size, &rp);
	if (st == UPCALL_ERR_INVALID && (rc = hp_record_unsent(cli, r)))	/* never sent */
		return rc;
	if (!replied(st))	/* outcome unknown: the pending mark stays */
		return cli_finish(cli, st);
	if (st == UPCALL_OK) {
		if ((add ? state_mem_add : state_mem_del)(&r->st, base, size))
			fprintf(cli->err,
				"%s: notice: VM %s: the record %s that range, so it is out of date (check the guest, then use the sync command)\n",
				cli->prog, r->e->label, add ? "already had" : "did not have");
		format_size(size, sz, sizeof(sz));
		cli_say(cli, "%s %s of memory at 0x%" PRIx64 "-0x%" PRIx64,
			add ? "added" : "removed", sz, base, base + size - 1);
		if (!add && r->e->vmm != VMM_NONE)
			vmm_kept_dimms(cli, r, base, size);
	}
	if ((rc = hp_record_save(cli, r, "")))
		return rc;
	if (st == UPCALL_ERR_GUEST && mem_contradicts(r, add, base, size, rp.ret)) {
		char head[96];

		refusal_head(head, sizeof(head), &rp);
		cli_set(cli, "status", json_text(upcall_status_name(made ? UPCALL_ERR_PARTIAL : st)));
		return cli_fail(cli, made ? EXIT_PARTIAL : EXIT_REFUSED,
				"%s: the record of VM %s is out of date (the guest %s that range); check the guest, then run 'memctl --vm %s sync --ranges BASE+SIZE,...'%s%s",
				head, r->e->label, add ? "already has" : "does not have",
				cli->vm ? cli->vm : r->e->label, made ? "; the VMM keeps DIMM " : "",
				made ? made : "");
	}
	if (st == UPCALL_ERR_GUEST && made) {
		cli_set(cli, "status", json_text(upcall_status_name(UPCALL_ERR_PARTIAL)));
		return cli_fail(cli, EXIT_PARTIAL, "%s; the VMM keeps DIMM %s, which it made for it",
				upcall_errmsg(s), made);
	}
	return cli_finish(cli, st);
}
