// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-VM state records: locked with flock on NAME.lock, read and written as
 * NAME.yaml (temp file, rename; fsync of both for a result), never through
 * a symlink.  The record names the endpoint it was written for, so
 * a restarted VM is noticed instead of trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "cancel.h"
#include "cli.h"
#include "inventory.h"
#include "state.h"

static int state_dir(struct cli *cli, char *dir, size_t len)
{
	const char *env = getenv("UPCALL_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(dir, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(dir, len, "%s", STATE_DIR_ROOT);
	else if (xdg && *xdg)
		snprintf(dir, len, "%s/upcall", xdg);
	else
		return cli_fail(cli, EXIT_OSERR,
				"no state directory: XDG_RUNTIME_DIR is not set (set it or UPCALL_STATE_DIR)");
	return EXIT_DONE;
}

static int open_dir(struct vm_record *r, const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cli_fail(r->cli, EXIT_OSERR, "cannot create state directory %s: %s",
				dir, strerror(errno));
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->dirfd < 0)
		return cli_fail(r->cli, EXIT_OSERR, "state directory %s: %s%s", dir,
				strerror(errno), errno == ELOOP || errno == ENOTDIR ?
				" (refusing a symlink or non-directory)" : "");
	if (fstat(r->dirfd, &st) < 0)
		return cli_fail(r->cli, EXIT_OSERR, "state directory %s: %s", dir, strerror(errno));
	if (st.st_uid != geteuid())
		return cli_fail(r->cli, EXIT_OSERR,
				"state directory %s is owned by uid %u, not by you; refusing to use it",
				dir, (unsigned int)st.st_uid);
	if (st.st_mode & 077)
		return cli_fail(r->cli, EXIT_OSERR,
				"state directory %s is open to others (mode %04o); refusing to use it (chmod 700 %s)",
				dir, (unsigned int)(st.st_mode & 07777), dir);
	return EXIT_DONE;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Waits at most four timeouts: the holder may take several steps. */
static int take_lock(struct vm_record *r)
{
	long long deadline = now_ms() + 4LL * r->cli->timeout_ms;
	char name[VM_NAME_MAX + 8];
	struct stat st;

	snprintf(name, sizeof(name), "%s.lock", r->e->name);
	r->lockfd = openat(r->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (r->lockfd < 0 || fstat(r->lockfd, &st) < 0 || !S_ISREG(st.st_mode))
		return cli_fail(r->cli, EXIT_OSERR, "lock file %s.lock in the state directory: %s",
				r->e->label, r->lockfd < 0 ? strerror(errno) : "not a regular file");
	while (flock(r->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return cli_fail(r->cli, EXIT_OSERR, "cannot lock the record of VM %s: %s",
					r->e->label, strerror(errno));
		if (now_ms() > deadline)
			return cli_fail(r->cli, EXIT_TIMEOUT,
					"timed out waiting for the lock on VM %s: another operation on it is still running",
					r->e->label);
		if (!cancel_sleep(5 + rand() % 10))
			return cli_fail(r->cli, EXIT_CANCELLED,
					"interrupted waiting for the lock on VM %s", r->e->label);
	}
	return EXIT_DONE;
}

static void endpoint_identity(const struct upcall_target *t, char *buf, size_t len)
{
	struct stat st;

	buf[0] = '\0';
	if (t->transport == UPCALL_TRANSPORT_VSOCK)
		snprintf(buf, len, "vsock:%u", t->cid);
	else if (stat(t->path, &st) == 0)
		snprintf(buf, len, "unix:%s dev=%ju ino=%ju ctime=%lld.%09ld", t->path,
			 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
			 (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

static void boot_state(struct vm_record *r)
{
	memset(&r->st, 0, sizeof(r->st));
	r->st.ncpus = vm_boot_ids(r->e, r->st.cpus);
	state_cpus_set(&r->st, r->st.cpus, r->st.ncpus);	/* sorts */
}

/* --- reading --- */

struct rec_parse {
	const char *path;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int rec_fail(struct rec_parse *p, const yaml_node_t *n, const char *what)
{
	snprintf(p->err, p->errlen, "%s:%zu:%zu: %s", p->path, n->start_mark.line + 1,
		 n->start_mark.column + 1, what);
	return -1;
}

static int rec_u64(struct rec_parse *p, const yaml_node_t *n, uint64_t max, uint64_t *v)
{
	char err[160];

	if (n->type != YAML_SCALAR_NODE ||
	    parse_u64((const char *)n->data.scalar.value, v, err, sizeof(err)) || *v > max)
		return rec_fail(p, n, "expected a number");
	return 0;
}

static int rec_cpus(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int count = 0;
	uint64_t v;

	if (n->type != YAML_SEQUENCE_NODE)
		return rec_fail(p, n, "cpus: expected a list of IDs");
	for (yaml_node_item_t *i = n->data.sequence.items.start;
	     i < n->data.sequence.items.top; i++) {
		if (count == UPCALL_MAX_APIC_IDS ||
		    rec_u64(p, yaml_document_get_node(p->doc, *i), 255, &v))
			return -1;
		ids[count++] = (uint8_t)v;
	}
	state_cpus_set(st, ids, count);
	return 0;
}

static int rec_range(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint64_t base = 0, size = 0;
	int seen = 0;

	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "memory: expected {base, size}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
		bool is_base = !strcmp(ks, "base");

		if (!is_base && strcmp(ks, "size"))
			return rec_fail(p, k, "memory: unknown key");
		if (rec_u64(p, v, UINT64_MAX, is_base ? &base : &size))
			return -1;
		seen |= is_base ? 1 : 2;
	}
	/* A range past 2^64 would defeat every overlap check after it. */
	if (seen != 3 || !size || base + size < base || state_mem_add(st, base, size) < 0)
		return rec_fail(p, n, "memory: bad or overlapping range");
	return 0;
}

static int rec_ids(struct rec_parse *p, const yaml_node_t *n, uint8_t *ids, unsigned int *count)
{
	uint64_t v;

	*count = 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return rec_fail(p, n, "expected a list of IDs");
	for (yaml_node_item_t *i = n->data.sequence.items.start;
	     i < n->data.sequence.items.top; i++) {
		if (*count == UPCALL_MAX_APIC_IDS ||
		    rec_u64(p, yaml_document_get_node(p->doc, *i), 255, &v))
			return -1;
		ids[(*count)++] = (uint8_t)v;
	}
	return 0;
}

static int rec_dimm(struct rec_parse *p, const yaml_node_t *n, struct vmm_dimm *d)
{
	int seen = 0;

	memset(d, 0, sizeof(*d));
	d->dimm = true;
	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "vmm.dimms: expected {id, base, size}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "id") && v->type == YAML_SCALAR_NODE &&
		    v->data.scalar.length < sizeof(d->id)) {
			memcpy(d->id, v->data.scalar.value, v->data.scalar.length);
			seen |= 1;
		} else if (!strcmp(ks, "base") || !strcmp(ks, "size")) {
			if (rec_u64(p, v, UINT64_MAX, ks[0] == 'b' ? &d->base : &d->size))
				return -1;
			seen |= ks[0] == 'b' ? 2 : 4;
		} else {
			return rec_fail(p, k, "vmm.dimms: unknown key or bad id");
		}
	}
	if (seen != 7 || !d->size || d->base + d->size < d->base)
		return rec_fail(p, n, "vmm.dimms: bad entry");
	return 0;
}

/* vmm: {vcpus: [...], dimms: [{id, base, size}, ...]} */
static int rec_vmm(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	struct vmm_dimm d[VMM_MAX_DIMMS];
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int nids = 0, nd = 0;
	bool cpus = false, dimms = false;

	if (n->type != YAML_MAPPING_NODE)
		return rec_fail(p, n, "vmm: expected {vcpus, dimms}");
	for (yaml_node_pair_t *a = n->data.mapping.pairs.start;
	     a < n->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "vcpus")) {
			if (rec_ids(p, v, ids, &nids))
				return -1;
			cpus = true;
		} else if (!strcmp(ks, "dimms") && v->type == YAML_SEQUENCE_NODE) {
			dimms = true;
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++) {
				if (nd == VMM_MAX_DIMMS)
					return rec_fail(p, v, "vmm.dimms: too many");
				if (rec_dimm(p, yaml_document_get_node(p->doc, *i), &d[nd++]))
					return -1;
			}
		} else {
			return rec_fail(p, k, "vmm: unknown key, or dimms is not a list");
		}
	}
	if (cpus)
		state_vmm_cpus(st, ids, nids);
	if (dimms)
		state_vmm_dimms(st, d, nd);
	for (unsigned int i = 1; i < st->nvmm_dimms; i++)
		if (st->vmm_dimms[i - 1].base + st->vmm_dimms[i - 1].size > st->vmm_dimms[i].base)
			return rec_fail(p, n, "vmm.dimms: overlapping ranges");
	return 0;
}

/* uncertain: [IDs], optional: older records have none */
static int rec_uncertain(struct rec_parse *p, const yaml_node_t *n, struct vm_state *st)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int count;

	if (rec_ids(p, n, ids, &count))
		return -1;
	st->nuncertain = 0;
	state_uncertain_add(st, ids, count);
	return 0;
}

static void rec_string(const yaml_node_t *v, char *buf, size_t len)
{
	if (v->type == YAML_SCALAR_NODE)
		snprintf(buf, len, "%s", (const char *)v->data.scalar.value);
}

static int rec_fields(struct rec_parse *p, struct vm_state *st)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc);

	if (!root || root->type != YAML_MAPPING_NODE)
		return rec_fail(p, root ? root : &(yaml_node_t){ 0 }, "not a state record");
	for (yaml_node_pair_t *a = root->data.mapping.pairs.start;
	     a < root->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);
		const char *ks = k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";

		if (!strcmp(ks, "cpus") && rec_cpus(p, v, st))
			return -1;
		if (!strcmp(ks, "vmm") && rec_vmm(p, v, st))
			return -1;
		if (!strcmp(ks, "uncertain") && rec_uncertain(p, v, st))
			return -1;
		if (!strcmp(ks, "memory") && v->type != YAML_SEQUENCE_NODE)
			return rec_fail(p, v, "memory: expected a list");
		if (!strcmp(ks, "memory"))
			for (yaml_node_item_t *i = v->data.sequence.items.start;
			     i < v->data.sequence.items.top; i++)
				if (rec_range(p, yaml_document_get_node(p->doc, *i), st))
					return -1;
		if (!strcmp(ks, "identity"))
			rec_string(v, st->identity, sizeof(st->identity));
		if (!strcmp(ks, "pending"))
			rec_string(v, st->pending, sizeof(st->pending));
	}
	return 0;
}

/* 1 read, 0 no record, -1 unreadable (message in @err). */
static int read_record(struct vm_record *r, struct vm_state *st, char *err, size_t errlen)
{
	struct rec_parse p = { .path = r->path, .err = err, .errlen = errlen };
	char name[VM_NAME_MAX + 8];
	yaml_parser_t parser;
	yaml_document_t doc;
	struct stat sb;
	int fd, rc = -1;
	FILE *f;

	snprintf(name, sizeof(name), "%s.yaml", r->e->name);
	fd = openat(r->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || !(f = fdopen(fd, "r"))) {
		snprintf(err, errlen, "%s: %s", r->path,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(st, 0, sizeof(*st));
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu:%zu: %s", r->path, parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "malformed YAML");
	} else {
		p.doc = &doc;
		rc = rec_fields(&p, st) ? -1 : 1;
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void state_format_ids(const uint8_t *ids, unsigned int n, char *buf, size_t len)
{
	if (n)
		format_id_list(ids, n, buf, len);
	else
		snprintf(buf, len, "none");
}

int record_open(struct cli *cli, struct vm_record *r, bool reseed)
{
	char dir[PATH_MAX - VM_NAME_MAX - 8], err[PATH_MAX + 200], ids[ID_LIST_MAX];
	int rc;

	memset(r, 0, sizeof(*r));
	r->cli = cli;
	r->e = cli->entry;
	r->dirfd = r->lockfd = -1;
	if ((rc = state_dir(cli, dir, sizeof(dir))) || (rc = open_dir(r, dir)) ||
	    (rc = take_lock(r)))
		return rc;
	snprintf(r->path, sizeof(r->path), "%s/%s.yaml", dir, r->e->name);
	endpoint_identity(&r->e->target, r->identity, sizeof(r->identity));
	rc = read_record(r, &r->st, err, sizeof(err));
	if (rc < 0 && !reseed)
		return cli_fail(cli, EXIT_OSERR,
				"unreadable state record %s; re-seed it with the sync command",
				err);
	if (rc > 0 && *r->st.identity && *r->identity && strcmp(r->st.identity, r->identity)) {
		boot_state(r);
		state_format_ids(r->st.cpus, r->st.ncpus, ids, sizeof(ids));
		fprintf(cli->err,
			"%s: notice: VM %s was restarted or replaced (its endpoint changed since the record was written); starting from its boot state: vCPUs %s, no hot-added memory\n",
			cli->prog, r->e->label, ids);
	} else if (rc <= 0) {
		boot_state(r);
	}
	return EXIT_DONE;
}

int record_refresh(struct vm_record *r, struct upcall_session *s, bool cpus,
		   bool mem)
{
	struct upcall_id_list ids;
	struct upcall_range_list ml;
	enum upcall_status st = UPCALL_OK;

	r->from_guest = false;
	if (cpus && (st = upcall_query_cpus(s, &ids)) == UPCALL_OK)
		state_cpus_set(&r->st, ids.ids, ids.count);
	if (mem && st == UPCALL_OK && (st = upcall_query_mem(s, &ml)) == UPCALL_OK) {
		r->st.nmem = 0;
		for (unsigned int i = 0; i < ml.count; i++)
			state_mem_add(&r->st, ml.ranges[i].base, ml.ranges[i].size);
	}
	if (st != UPCALL_OK && st != UPCALL_ERR_GUEST)
		return cli_finish(r->cli, st);
	r->from_guest = (cpus || mem) && st == UPCALL_OK;
	if (r->cli->verbose && (cpus || mem) && !r->from_guest)
		fprintf(r->cli->err, "%s: the guest does not answer queries (%s); using the record %s\n",
			r->cli->prog, upcall_errmsg(s), r->path);
	if (r->from_guest && cpus)
		r->st.nuncertain = 0;	/* the guest said which are online */
	/* an interrupted request is settled by the answer about its kind only */
	if (r->from_guest && (strstr(r->st.pending, "vCPUs") ? cpus :
			      strstr(r->st.pending, "memory") ? mem : true))
		r->st.pending[0] = '\0';
	return EXIT_DONE;
}

/* --- writing --- */

static int emit(yaml_emitter_t *em, yaml_event_t *ev, int ok)
{
	return ok && yaml_emitter_emit(em, ev) ? 0 : -1;
}

static int emit_scalar(yaml_emitter_t *em, const char *v, bool quoted)
{
	yaml_event_t ev;

	return emit(em, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL,
		(yaml_char_t *)v, -1, 1, 1,
		quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE));
}

static int emit_pair(yaml_emitter_t *em, const char *k, const char *v, bool quoted)
{
	return emit_scalar(em, k, false) || emit_scalar(em, v, quoted) ? -1 : 0;
}

static int emit_seq(yaml_emitter_t *em, bool start, bool flow)
{
	yaml_event_t ev;

	if (!start)
		return emit(em, &ev, yaml_sequence_end_event_initialize(&ev));
	return emit(em, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE));
}

static int emit_map(yaml_emitter_t *em, bool start, bool flow)
{
	yaml_event_t ev;

	if (!start)
		return emit(em, &ev, yaml_mapping_end_event_initialize(&ev));
	return emit(em, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
		flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static int emit_vmm(yaml_emitter_t *em, const struct vm_state *st)
{
	char buf[64], size[32];
	int rc;

	if (!st->vmm_cpus_seen && !st->vmm_dimms_seen)
		return 0;
	rc = emit_scalar(em, "vmm", false) || emit_map(em, true, false);
	if (!rc && st->vmm_cpus_seen) {
		rc = emit_scalar(em, "vcpus", false) || emit_seq(em, true, true);
		for (unsigned int i = 0; !rc && i < st->nvmm_cpus; i++) {
			snprintf(buf, sizeof(buf), "%u", st->vmm_cpus[i]);
			rc = emit_scalar(em, buf, false);
		}
		rc = rc || emit_seq(em, false, true);
	}
	if (rc || !st->vmm_dimms_seen)
		return rc || emit_map(em, false, false) ? -1 : 0;
	rc = emit_scalar(em, "dimms", false) || emit_seq(em, true, false);
	for (unsigned int i = 0; !rc && i < st->nvmm_dimms; i++) {
		snprintf(buf, sizeof(buf), "0x%" PRIx64, st->vmm_dimms[i].base);
		snprintf(size, sizeof(size), "0x%" PRIx64, st->vmm_dimms[i].size);
		rc = emit_map(em, true, true) || emit_pair(em, "id", st->vmm_dimms[i].id, true) ||
		     emit_pair(em, "base", buf, false) || emit_pair(em, "size", size, false) ||
		     emit_map(em, false, true);
	}
	return rc || emit_seq(em, false, false) || emit_map(em, false, false) ? -1 : 0;
}

static int emit_body(yaml_emitter_t *em, const struct vm_record *r)
{
	char buf[64], target[160];
	int rc;

	upcall_target_format(&r->e->target, target, sizeof(target));
	rc = emit_map(em, true, false) || emit_pair(em, "vm", r->e->name, false) ||
	     emit_pair(em, "target", target, true) ||
	     emit_pair(em, "identity", r->st.identity, true) ||
	     emit_scalar(em, "cpus", false) || emit_seq(em, true, true);
	for (unsigned int i = 0; !rc && i < r->st.ncpus; i++) {
		snprintf(buf, sizeof(buf), "%u", r->st.cpus[i]);
		rc = emit_scalar(em, buf, false);
	}
	rc = rc || emit_seq(em, false, true) || emit_scalar(em, "memory", false) ||
	     emit_seq(em, true, false);
	for (unsigned int i = 0; !rc && i < r->st.nmem; i++) {
		char size[32];

		snprintf(buf, sizeof(buf), "0x%" PRIx64, r->st.mem[i].base);
		snprintf(size, sizeof(size), "0x%" PRIx64, r->st.mem[i].size);
		rc = emit_map(em, true, true) || emit_pair(em, "base", buf, false) ||
		     emit_pair(em, "size", size, false) || emit_map(em, false, true);
	}
	rc = rc || emit_seq(em, false, false) || emit_vmm(em, &r->st);
	if (!rc && r->st.nuncertain) {
		rc = emit_scalar(em, "uncertain", false) || emit_seq(em, true, true);
		for (unsigned int i = 0; !rc && i < r->st.nuncertain; i++) {
			snprintf(buf, sizeof(buf), "%u", r->st.uncertain[i]);
			rc = emit_scalar(em, buf, false);
		}
		rc = rc || emit_seq(em, false, true);
	}
	if (!rc && *r->st.pending)
		rc = emit_pair(em, "pending", r->st.pending, true);
	return rc || emit_map(em, false, false) ? -1 : 0;
}

static int emit_record(FILE *f, const struct vm_record *r)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc;

	fprintf(f, "# State record of VM %s, shared by the upcall tools.\n"
		"# Do not edit: re-seed with 'vcpuctl sync' or 'memctl sync'.\n", r->e->name);
	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	rc = emit(&em, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) ||
	     emit(&em, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) ||
	     emit_body(&em, r) ||
	     emit(&em, &ev, yaml_document_end_event_initialize(&ev, 1)) ||
	     emit(&em, &ev, yaml_stream_end_event_initialize(&ev)) ? -1 : 0;
	yaml_emitter_delete(&em);
	return rc;
}

/*
 * Temp file and rename: a reader, or a writer killed at any point (kill -9
 * included: the page cache survives it), leaves the old record or the new
 * one, never half of one.  fsync() of the file and the directory only
 * matters after a power loss, which takes the VM down with the host; it
 * keeps a result (@durable) readable then, and is skipped for the marker
 * of an operation in flight, which a power loss makes moot.  Each fsync
 * costs about 0.3 ms on a disk; the default state directories are tmpfs.
 */
static int write_record(struct vm_record *r, bool durable)
{
	char tmp[VM_NAME_MAX + 16], name[VM_NAME_MAX + 8];
	int fd, rc;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.yaml.tmp", r->e->name);
	snprintf(name, sizeof(name), "%s.yaml", r->e->name);
	/* a leftover of a killed writer; we hold the lock */
	if (unlinkat(r->dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -1;
	fd = openat(r->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	rc = emit_record(f, r) || fflush(f) || (durable && fsync(fd)) ? -1 : 0;
	if (fclose(f) || rc)
		return -1;
	if (renameat(r->dirfd, tmp, r->dirfd, name) < 0)
		return -1;
	return durable ? fsync(r->dirfd) : 0;
}

int record_save(struct vm_record *r, const char *what)
{
	if (r->cli->dry_run)	/* a dry run changes no record */
		return EXIT_DONE;
	if (what)
		snprintf(r->st.pending, sizeof(r->st.pending), "%s", what);
	snprintf(r->st.identity, sizeof(r->st.identity), "%s", r->identity);
	if (write_record(r, !what || !*what) < 0)
		return cli_fail(r->cli, EXIT_OSERR, "cannot write the state record %s: %s",
				r->path, errno ? strerror(errno) : "YAML emitter failed");
	return EXIT_DONE;
}

void record_close(struct vm_record *r)
{
	if (r->lockfd >= 0)
		close(r->lockfd);	/* releases the lock */
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->lockfd = r->dirfd = -1;
}

/* --- set operations --- */

void state_vmm_cpus(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->nvmm_cpus = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->vmm_cpus[st->nvmm_cpus++] = (uint8_t)id;
	st->vmm_cpus_seen = true;
}

static int dimm_by_base(const void *a, const void *b)
{
	const struct vmm_dimm *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

void state_vmm_dimms(struct vm_state *st, const struct vmm_dimm *d, unsigned int n)
{
	st->nvmm_dimms = 0;
	for (unsigned int i = 0; i < n && st->nvmm_dimms < VMM_MAX_DIMMS; i++)
		if (d[i].dimm)
			st->vmm_dimms[st->nvmm_dimms++] = d[i];
	qsort(st->vmm_dimms, st->nvmm_dimms, sizeof(st->vmm_dimms[0]), dimm_by_base);
	for (unsigned int i = 0; i < st->nvmm_dimms; i++)
		st->vmm_dimms[i].ours = !strncmp(st->vmm_dimms[i].id, VMM_DIMM_PREFIX,
						 strlen(VMM_DIMM_PREFIX));
	st->vmm_dimms_seen = true;
}

void state_cpus_set(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->ncpus = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->cpus[st->ncpus++] = (uint8_t)id;
}

void state_uncertain_add(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	bool on[UPCALL_MAX_APIC_IDS] = { false };

	for (unsigned int i = 0; i < st->nuncertain; i++)
		on[st->uncertain[i]] = true;
	for (unsigned int i = 0; i < n; i++)
		on[ids[i]] = true;
	st->nuncertain = 0;
	for (unsigned int id = 0; id < UPCALL_MAX_APIC_IDS; id++)
		if (on[id])
			st->uncertain[st->nuncertain++] = (uint8_t)id;
}

void state_uncertain_del(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < st->nuncertain; i++)
		if (!memchr(ids, st->uncertain[i], n))
			st->uncertain[k++] = st->uncertain[i];
	st->nuncertain = k;
}

void state_cpus_add(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	uint8_t all[2 * UPCALL_MAX_APIC_IDS];

	memcpy(all, st->cpus, st->ncpus);
	memcpy(all + st->ncpus, ids, n);
	state_cpus_set(st, all, st->ncpus + n);
}

void state_cpus_del(struct vm_state *st, const uint8_t *ids, unsigned int n)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < st->ncpus; i++)
		if (!memchr(ids, st->cpus[i], n))
			st->cpus[k++] = st->cpus[i];
	st->ncpus = k;
}

int state_mem_overlap(const struct vm_state *st, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < st->nmem; i++)
		if (base < st->mem[i].base + st->mem[i].size &&
		    st->mem[i].base < base + size)
			return (int)i;
	return -1;
}

int state_mem_containing(const struct vm_state *st, uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < st->nmem; i++)
		if (base >= st->mem[i].base &&
		    base + size <= st->mem[i].base + st->mem[i].size)
			return (int)i;
	return -1;
}

int state_mem_add(struct vm_state *st, uint64_t base, uint64_t size)
{
	unsigned int i;

	if (st->nmem == UPCALL_MAX_MEM_RANGES || state_mem_overlap(st, base, size) >= 0)
		return -1;
	for (i = st->nmem; i > 0 && st->mem[i - 1].base > base; i--)
		st->mem[i] = st->mem[i - 1];
	st->mem[i] = (struct upcall_range){ base, size };
	st->nmem++;
	return 0;
}

int state_mem_del(struct vm_state *st, uint64_t base, uint64_t size)
{
	int i = state_mem_containing(st, base, size);
	struct upcall_range r;

	if (i < 0)
		return -1;
	r = st->mem[i];
	if (r.base != base && r.base + r.size != base + size &&
	    st->nmem == UPCALL_MAX_MEM_RANGES)
		return -1;	/* a split would not fit */
	memmove(&st->mem[i], &st->mem[i + 1], (st->nmem - (unsigned int)i - 1) * sizeof(r));
	st->nmem--;
	if (r.base < base)
		state_mem_add(st, r.base, base - r.base);
	if (base + size < r.base + r.size)
		state_mem_add(st, base + size, r.base + r.size - base - size);
	return 0;
}

bool state_mem_no_room(const struct vm_state *st, bool add, uint64_t base, uint64_t size)
{
	struct vm_state after = *st;

	if (add ? state_mem_overlap(st, base, size) >= 0 : state_mem_containing(st, base, size) < 0)
		return false;
	return (add ? state_mem_add : state_mem_del)(&after, base, size) < 0;
}

int state_mem_place(const struct vm_state *st, const struct upcall_range *regions,
		    unsigned int nregions, uint64_t align, uint64_t size,
		    uint64_t *base)
{
	for (unsigned int i = 0; i < nregions; i++) {
		uint64_t end = regions[i].base + regions[i].size;
		uint64_t b = (regions[i].base + align - 1) / align * align;
		int o;

		while (b >= regions[i].base && b + size > b && b + size <= end) {
			o = state_mem_overlap(st, b, size);
			if (o < 0) {
				*base = b;
				return 0;
			}
			b = (st->mem[o].base + st->mem[o].size + align - 1) / align * align;
		}
	}
	return -1;
}
