// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * VM inventory: YAML files naming each VM's target, vCPU limits, topology
 * and memory hot-add regions.  Every error names file, line, column and key.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "error.h"
#include "inventory.h"
#include "parse.h"

struct inv_parse {
	const char *file;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int fail_at(struct inv_parse *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct inv_parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%zu:%zu: %s", p->file, n->start_mark.line + 1,
		 n->start_mark.column + 1, msg);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_u64(struct inv_parse *p, const yaml_node_t *n, const char *key,
		   bool size, uint64_t *v)
{
	char err[160];
	const char *s = scalar(n);

	if (!s)
		return fail_at(p, n, "%s: expected a number", key);
	if ((size ? parse_size(s, v, err, sizeof(err)) : parse_u64(s, v, err, sizeof(err))))
		return fail_at(p, n, "%s: %s", key, err);
	return 0;
}

static int get_uint(struct inv_parse *p, const yaml_node_t *n, const char *key,
		    unsigned int min, unsigned int max, unsigned int *v)
{
	uint64_t x;

	if (get_u64(p, n, key, false, &x))
		return -1;
	if (x < min || x > max)
		return fail_at(p, n, "%s: %" PRIu64 " is out of range %u..%u", key, x, min, max);
	*v = (unsigned int)x;
	return 0;
}

/* Keys of a mapping must be known scalars and appear once. */
static int check_keys(struct inv_parse *p, const yaml_node_t *map,
		      const char *what, const char *const *known)
{
	if (map->type != YAML_MAPPING_NODE)
		return fail_at(p, map, "%s: expected a mapping of keys", what);
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
	     a < map->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		const char *ks = scalar(k);
		const char *const *kn;

		if (!ks)
			return fail_at(p, k, "%s: keys must be plain words", what);
		for (kn = known; *kn && strcmp(*kn, ks); kn++)
			;
		if (!*kn)
			return fail_at(p, k, "unknown key \"%s\" in %s", ks, what);
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++)
			if (!strcmp(scalar(yaml_document_get_node(p->doc, b->key)), ks))
				return fail_at(p, k, "key \"%s\" given twice in %s", ks, what);
	}
	return 0;
}

static yaml_node_t *value_of(struct inv_parse *p, const yaml_node_t *map,
			     const char *key)
{
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
	     a < map->data.mapping.pairs.top; a++)
		if (!strcmp(scalar(yaml_document_get_node(p->doc, a->key)), key))
			return yaml_document_get_node(p->doc, a->value);
	return NULL;
}

static int parse_topology(struct inv_parse *p, const yaml_node_t *n,
			  struct topology *t)
{
	static const char *const keys[] = { "threads_per_core", "cores_per_die",
		"dies_per_socket", "sockets", NULL };
	unsigned int *fields[] = { &t->threads_per_core, &t->cores_per_die,
		&t->dies_per_socket, &t->sockets };
	yaml_node_t *v;

	if (check_keys(p, n, "topology", keys))
		return -1;
	for (int i = 0; keys[i]; i++) {
		*fields[i] = 1;
		v = value_of(p, n, keys[i]);
		if (v && get_uint(p, v, keys[i], 1, 255, fields[i]))
			return -1;
	}
	return 0;
}

static int parse_region(struct inv_parse *p, const yaml_node_t *n,
			struct vm_entry *e)
{
	static const char *const keys[] = { "base", "size", NULL };
	struct upcall_range *r = &e->regions[e->nregions];
	yaml_node_t *b, *s;

	if (check_keys(p, n, "memory.regions entry", keys))
		return -1;
	b = value_of(p, n, "base");
	s = value_of(p, n, "size");
	if (!b || !s)
		return fail_at(p, n, "memory.regions entry needs both base and size");
	if (get_u64(p, b, "base", false, &r->base) || get_u64(p, s, "size", true, &r->size))
		return -1;
	if (r->size == 0 || r->base + r->size < r->base)
		return fail_at(p, n, "memory region 0x%" PRIx64 "+0x%" PRIx64 " is empty or overflows",
			       r->base, r->size);
	if (r->base % e->block_size || r->size % e->block_size)
		return fail_at(p, n, "memory region 0x%" PRIx64 "+0x%" PRIx64
			       " is not a multiple of the block size 0x%" PRIx64,
			       r->base, r->size, e->block_size);
	for (unsigned int i = 0; i < e->nregions; i++)
		if (r->base < e->regions[i].base + e->regions[i].size &&
		    e->regions[i].base < r->base + r->size)
			return fail_at(p, n, "memory region 0x%" PRIx64 "+0x%" PRIx64
				       " overlaps another region", r->base, r->size);
	e->nregions++;
	return 0;
}

static int parse_memory(struct inv_parse *p, const yaml_node_t *n,
			struct vm_entry *e)
{
	static const char *const keys[] = { "block_size", "regions", NULL };
	yaml_node_t *v;

	if (check_keys(p, n, "memory", keys))
		return -1;
	v = value_of(p, n, "block_size");
	if (v && get_u64(p, v, "block_size", true, &e->block_size))
		return -1;
	if (v && (e->block_size < 4096 || (e->block_size & (e->block_size - 1))))
		return fail_at(p, v, "block_size: must be a power of two of at least 4K");
	v = value_of(p, n, "regions");
	if (!v)
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return fail_at(p, v, "regions: expected a list of {base, size}");
	for (yaml_node_item_t *i = v->data.sequence.items.start;
	     i < v->data.sequence.items.top; i++) {
		if (e->nregions == INVENTORY_MAX_REGIONS)
			return fail_at(p, v, "regions: more than %d", INVENTORY_MAX_REGIONS);
		if (parse_region(p, yaml_document_get_node(p->doc, *i), e))
			return -1;
	}
	return 0;
}

/* vmm: {qmp: /run/web1.qmp}: the VMM's control socket, one kind of API. */
static int parse_vmm(struct inv_parse *p, const yaml_node_t *n, struct vm_entry *e)
{
	static const char *const keys[] = { "qmp", NULL };
	const yaml_node_pair_t *pair;
	const yaml_node_t *v;
	const char *path;

	if (check_keys(p, n, "vmm", keys))
		return -1;
	pair = n->data.mapping.pairs.start;
	if (pair == n->data.mapping.pairs.top)
		return fail_at(p, n, "vmm: expected one control socket, such as {qmp: /run/vm.qmp}");
	if (pair + 1 != n->data.mapping.pairs.top)
		return fail_at(p, n, "vmm: one control socket only");
	v = yaml_document_get_node(p->doc, pair->value);
	path = scalar(v);
	if (!path || path[0] != '/')
		return fail_at(p, v, "vmm.qmp: expected the absolute path of QEMU's QMP socket");
	if (strlen(path) >= sizeof(e->vmm_path))
		return fail_at(p, v, "vmm.qmp: socket path is longer than %zu bytes",
			       sizeof(e->vmm_path) - 1);
	e->vmm = VMM_QMP;
	snprintf(e->vmm_path, sizeof(e->vmm_path), "%s", path);
	return 0;
}

static int parse_target(struct inv_parse *p, const yaml_node_t *n,
			struct vm_entry *e)
{
	const char *s = scalar(n);
	char err[256];

	if (!s || !*s)
		return fail_at(p, n, "target: expected a socket path or vsock:CID[:PORT]");
	if (strncmp(s, "vsock:", 6) && s[0] != '/' && strncmp(s, "unix:/", 6))
		return fail_at(p, n, "target: socket path \"%s\" must be absolute", s);
	if (upcall_target_parse(s, 0, &e->target, err, sizeof(err)) < 0)
		return fail_at(p, n, "target: %s", err);
	snprintf(e->spec, sizeof(e->spec), "%s", s);
	return 0;
}

static int parse_limits(struct inv_parse *p, const yaml_node_t *n,
			struct vm_entry *e, bool have_topo)
{
	yaml_node_t *boot = value_of(p, n, "boot_vcpu_count");
	yaml_node_t *max = value_of(p, n, "max_vcpu_count");
	unsigned int size = topology_size(&e->topo);
	char err[200];

	e->max_vcpus = have_topo && size < VM_DEFAULT_MAX_VCPUS ? size : VM_DEFAULT_MAX_VCPUS;
	if (boot && get_uint(p, boot, "boot_vcpu_count", 1, UPCALL_MAX_CPU_COUNT, &e->boot_vcpus))
		return -1;
	if (max && get_uint(p, max, "max_vcpu_count", 1, UPCALL_MAX_CPU_COUNT, &e->max_vcpus))
		return -1;
	if (e->boot_vcpus > e->max_vcpus)
		return fail_at(p, boot ? boot : n, "boot_vcpu_count %u exceeds max_vcpu_count %u",
			       e->boot_vcpus, e->max_vcpus);
	if (!have_topo)
		e->topo.cores_per_die = e->max_vcpus;
	if (topology_check(&e->topo, e->max_vcpus, err, sizeof(err)))
		return fail_at(p, max ? max : n, "%s", err);
	return 0;
}

static int parse_entry(struct inv_parse *p, const yaml_node_t *n,
		       struct vm_entry *e)
{
	static const char *const keys[] = { "target", "arch", "boot_vcpu_count",
		"max_vcpu_count", "topology", "apic_ver", "memory", "vmm", NULL };
	yaml_node_t *v;
	unsigned int ver;

	if (check_keys(p, n, e->name, keys))
		return -1;
	v = value_of(p, n, "target");
	if (!v)
		return fail_at(p, n, "VM \"%s\" has no target", e->name);
	if (parse_target(p, v, e))
		return -1;
	v = value_of(p, n, "arch");
	if (v && (!scalar(v) || upcall_arch_parse(scalar(v), &e->arch)))
		return fail_at(p, v, "arch: expected x86_64 or aarch64");
	e->have_arch = v != NULL;
	v = value_of(p, n, "topology");
	if (v && parse_topology(p, v, &e->topo))
		return -1;
	if (parse_limits(p, n, e, v != NULL))
		return -1;
	v = value_of(p, n, "apic_ver");
	if (v && get_uint(p, v, "apic_ver", 0, 255, &ver))
		return -1;
	if (v)
		e->apic_ver = (uint8_t)ver;
	v = value_of(p, n, "vmm");
	if (v && parse_vmm(p, v, e))
		return -1;
	if (v && e->target.transport == UPCALL_TRANSPORT_UNIX && !strcmp(e->target.path, e->vmm_path))
		return fail_at(p, v, "vmm.qmp: %s is the VM's upcall target; QMP has a socket of its own",
			       e->vmm_path);
	v = value_of(p, n, "memory");
	return v ? parse_memory(p, v, e) : 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= VM_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool same_target(const struct upcall_target *a, const struct upcall_target *b)
{
	if (a->transport != b->transport)
		return false;
	if (a->transport == UPCALL_TRANSPORT_VSOCK)
		return a->cid == b->cid;
	return strcmp(a->path, b->path) == 0;
}

static bool same_socket(const struct upcall_target *a, const struct upcall_target *b);

/* What must differ between VMs: their target, and their VMM's socket. */
struct vm_key {
	struct upcall_target target;
	char vmm[UPCALL_PATH_MAX];
};

/* The entry found shares its target and VMM with no other: one VM, one record. */
static int check_unique_target(struct inv_parse *p, const yaml_node_t *vms,
			       const struct vm_key *keys, size_t found)
{
	const yaml_node_pair_t *pairs = vms->data.mapping.pairs.start;
	size_t n = (size_t)(vms->data.mapping.pairs.top - pairs);
	const char *name = scalar(yaml_document_get_node(p->doc, pairs[found].key));

	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pairs[i].key);

		if (i == found)
			continue;
		if (same_target(&keys[i].target, &keys[found].target))
			return fail_at(p, k, "VMs \"%s\" and \"%s\" have the same target; a VM needs one name",
				       name, scalar(k));
		if (keys[found].vmm[0] && !strcmp(keys[i].vmm, keys[found].vmm))
			return fail_at(p, k, "VMs \"%s\" and \"%s\" have the same VMM socket %s",
				       name, scalar(k), keys[found].vmm);
	}
	return 0;
}

/* Walk "vms:"; every entry is checked so an error anywhere is seen. */
static int parse_vms(struct inv_parse *p, const char *name,
		     const struct upcall_target *by_target, struct vm_entry *out)
{
	static const char *const top_keys[] = { "vms", "groups", NULL };
	yaml_node_t *root = yaml_document_get_root_node(p->doc), *vms;
	struct vm_key *keys;
	size_t n, found = SIZE_MAX;
	int rc = 0;

	if (!root)
		return 0;	/* empty file */
	if (check_keys(p, root, "the inventory's top level", top_keys))
		return -1;
	vms = value_of(p, root, "vms");
	if (!vms)
		return 0;
	if (vms->type != YAML_MAPPING_NODE)
		return fail_at(p, vms, "vms: expected a mapping of VM names");
	n = (size_t)(vms->data.mapping.pairs.top - vms->data.mapping.pairs.start);
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys) {
		snprintf(p->err, p->errlen, "%s: out of memory", p->file);
		return -1;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		yaml_node_pair_t *a = vms->data.mapping.pairs.start + i;
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		struct vm_entry e;

		inventory_default(NULL, &e);
		if (!scalar(k) || !valid_name(scalar(k))) {
			rc = fail_at(p, k, "VM name must be 1-%d letters, digits, '.', '_' or '-'",
				     VM_NAME_MAX - 1);
			break;
		}
		snprintf(e.name, sizeof(e.name), "%s", scalar(k));
		for (yaml_node_pair_t *b = vms->data.mapping.pairs.start; b < a && !rc; b++)
			if (!strcmp(scalar(yaml_document_get_node(p->doc, b->key)), e.name))
				rc = fail_at(p, k, "VM \"%s\" defined twice", e.name);
		if (rc || (rc = parse_entry(p, yaml_document_get_node(p->doc, a->value), &e)))
			break;
		keys[i].target = e.target;
		memcpy(keys[i].vmm, e.vmm_path, sizeof(keys[i].vmm));
		if (found == SIZE_MAX && (by_target ? same_target(by_target, &e.target) :
					  !strcmp(name, e.name))) {
			e.in_inventory = true;
			snprintf(e.label, sizeof(e.label), "%s", e.name);
			snprintf(e.file, sizeof(e.file), "%s", p->file);
			*out = e;
			found = i;
		}
	}
	/* no entry spells the path so: one may name the same socket otherwise */
	for (size_t i = 0; !rc && by_target && found == SIZE_MAX && i < n; i++) {
		yaml_node_pair_t *a = vms->data.mapping.pairs.start + i;
		struct vm_entry e;

		if (!same_socket(by_target, &keys[i].target))
			continue;
		inventory_default(NULL, &e);
		snprintf(e.name, sizeof(e.name), "%s", scalar(yaml_document_get_node(p->doc, a->key)));
		rc = parse_entry(p, yaml_document_get_node(p->doc, a->value), &e);
		e.in_inventory = true;
		snprintf(e.label, sizeof(e.label), "%s", e.name);
		snprintf(e.file, sizeof(e.file), "%s", p->file);
		*out = e;
		found = i;
	}
	if (!rc && found != SIZE_MAX)
		rc = check_unique_target(p, vms, keys, found);
	free(keys);
	return rc ? rc : found != SIZE_MAX;
}

/* Refuse, as ssh does, a file others could have written. */
static int check_owner(const char *file, int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "%s: refusing to read: writable by group or others (mode %04o); run chmod go-w %s",
			 file, (unsigned int)(st.st_mode & 07777), file);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "%s: refusing to read: owned by uid %u, which is neither root nor you",
			 file, (unsigned int)st.st_uid);
		return -1;
	}
	return 0;
}

static int load_doc(const char *file, FILE *f, yaml_document_t *doc, char *err,
		    size_t errlen)
{
	yaml_parser_t parser;
	int rc = 0;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", file);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, doc))
		goto malformed;
	/* a second document would be ignored: refuse it instead */
	if (yaml_document_get_root_node(doc)) {
		yaml_document_t next;
		yaml_node_t *more;

		if (!yaml_parser_load(&parser, &next)) {
			yaml_document_delete(doc);
			goto malformed;
		}
		more = yaml_document_get_root_node(&next);
		if (more) {
			snprintf(err, errlen, "%s:%zu:%zu: a second YAML document; the inventory is one",
				 file, more->start_mark.line + 1, more->start_mark.column + 1);
			yaml_document_delete(doc);
			rc = -1;
		}
		yaml_document_delete(&next);
	}
	yaml_parser_delete(&parser);
	return rc;

malformed:
	snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", file,
		 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
		 parser.problem ? parser.problem : "malformed YAML",
		 parser.context ? " " : "", parser.context ? parser.context : "");
	yaml_parser_delete(&parser);
	return -1;
}

/* 1 loaded into @doc, 0 no such file, -1 with the reason in @err. */
static int open_doc(const char *file, yaml_document_t *doc, char *err, size_t errlen)
{
	int fd, rc;
	FILE *f;

	/* O_NONBLOCK: a FIFO must not block the open; check_owner refuses it */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (check_owner(file, fd, err, errlen)) {
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		close(fd);
		return -1;
	}
	rc = load_doc(file, f, doc, err, errlen);
	fclose(f);
	return rc ? -1 : 1;
}

int inventory_find(const char *file, const char *name,
		   const struct upcall_target *by_target, struct vm_entry *out,
		   char *err, size_t errlen)
{
	struct inv_parse p = { .file = file, .err = err, .errlen = errlen };
	yaml_document_t doc;
	int rc = open_doc(file, &doc, err, errlen);

	if (rc <= 0)
		return rc;
	p.doc = &doc;
	rc = parse_vms(&p, name, by_target, out);
	yaml_document_delete(&doc);
	return rc;
}

/* One "groups:" entry: a list of names defined under "vms:". */
static int check_group(struct inv_parse *p, const char *group, const yaml_node_t *list,
		       const yaml_node_t *vms)
{
	if (list->type != YAML_SEQUENCE_NODE)
		return fail_at(p, list, "group %s: expected a list of VM names", group);
	if (list->data.sequence.items.start == list->data.sequence.items.top)
		return fail_at(p, list, "group %s names no VM", group);
	for (yaml_node_item_t *i = list->data.sequence.items.start;
	     i < list->data.sequence.items.top; i++) {
		yaml_node_t *n = yaml_document_get_node(p->doc, *i);

		if (!scalar(n) || !vms || vms->type != YAML_MAPPING_NODE ||
		    !value_of(p, vms, scalar(n)))
			return fail_at(p, n, "group %s: no VM named \"%s\" under vms:", group,
				       scalar(n) ? scalar(n) : "");
	}
	return 0;
}

/* Check "groups:" and find @group in it; 1 found (list in @members), 0 not. */
static int parse_groups(struct inv_parse *p, const char *group, yaml_node_t **members)
{
	yaml_node_t *root = yaml_document_get_root_node(p->doc), *groups;

	groups = root ? value_of(p, root, "groups") : NULL;
	if (!groups)
		return 0;
	if (groups->type != YAML_MAPPING_NODE)
		return fail_at(p, groups, "groups: expected a mapping of group names to VM lists");
	*members = NULL;
	for (yaml_node_pair_t *a = groups->data.mapping.pairs.start;
	     a < groups->data.mapping.pairs.top; a++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, a->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, a->value);

		if (!scalar(k) || !valid_name(scalar(k)))
			return fail_at(p, k, "group name must be 1-%d letters, digits, '.', '_' or '-'",
				       VM_NAME_MAX - 1);
		for (yaml_node_pair_t *b = groups->data.mapping.pairs.start; b < a; b++)
			if (!strcmp(scalar(yaml_document_get_node(p->doc, b->key)), scalar(k)))
				return fail_at(p, k, "group \"%s\" defined twice", scalar(k));
		if (check_group(p, scalar(k), v, value_of(p, root, "vms")))
			return -1;
		if (!strcmp(scalar(k), group))
			*members = v;
	}
	return *members != NULL;
}

int inventory_find_group(const char *file, const char *group,
			 int (*add)(void *data, const char *vm), void *data,
			 char *err, size_t errlen)
{
	struct inv_parse p = { .file = file, .err = err, .errlen = errlen };
	yaml_node_t *members = NULL;
	yaml_document_t doc;
	struct vm_entry e;
	int rc = open_doc(file, &doc, err, errlen);

	if (rc <= 0)
		return rc;
	p.doc = &doc;
	rc = parse_vms(&p, "", NULL, &e);	/* no name is "": checks every VM */
	if (rc == 0)
		rc = parse_groups(&p, group, &members);
	for (yaml_node_item_t *i = rc > 0 ? members->data.sequence.items.start : NULL;
	     i && i < members->data.sequence.items.top; i++)
		if (add(data, scalar(yaml_document_get_node(&doc, *i)))) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
	yaml_document_delete(&doc);
	return rc;
}

/* Valid names of one mapping ("vms:" or "groups:") of the root. */
static void each_name(yaml_document_t *doc, const char *key, bool group,
		      void (*add)(void *data, const char *name, bool group), void *data)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *m = NULL;

	if (!root || root->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));

		if (k && !strcmp(k, key))
			m = yaml_document_get_node(doc, p->value);
	}
	if (!m || m->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(doc, p->key));

		if (k && valid_name(k))
			add(data, k, group);
	}
}

int inventory_names(const char *file,
		    void (*add)(void *data, const char *name, bool group), void *data)
{
	char err[PATH_MAX + 200];
	yaml_document_t doc;
	int rc = open_doc(file, &doc, err, sizeof(err));

	if (rc <= 0)
		return rc;
	each_name(&doc, "vms", false, add, data);
	each_name(&doc, "groups", true, add, data);
	yaml_document_delete(&doc);
	return 1;
}

void inventory_default(const struct upcall_target *t, struct vm_entry *out)
{
	memset(out, 0, sizeof(*out));
	if (t)
		out->target = *t;
	out->arch = upcall_host_arch();
	out->boot_vcpus = VM_DEFAULT_BOOT_VCPUS;
	out->max_vcpus = VM_DEFAULT_MAX_VCPUS;
	out->topo = (struct topology){ 1, VM_DEFAULT_MAX_VCPUS, 1, 1 };
	out->apic_ver = UPCALL_DEFAULT_APIC_VER;
	out->block_size = VM_DEFAULT_BLOCK_SIZE;
}

unsigned int vm_boot_ids(const struct vm_entry *e, uint8_t *ids)
{
	topology_ids(&e->topo, e->boot_vcpus, ids);
	return e->boot_vcpus;
}

unsigned int vm_valid_ids(const struct vm_entry *e, uint8_t *ids)
{
	topology_ids(&e->topo, e->max_vcpus, ids);
	return e->max_vcpus;
}

/* Record name of a VM known only by its target: readable, and unique. */
static void derived_name(const struct upcall_target *t, char *name, size_t len)
{
	char spec[160], *c;
	uint32_t h = 2166136261U;

	upcall_target_format(t, spec, sizeof(spec));
	for (c = spec; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619U;
	for (c = spec; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *c))
			*c = '_';
	c = strlen(spec) > 40 ? spec + strlen(spec) - 40 : spec;
	snprintf(name, len, "%.40s.%08x", c, h);
}

/*
 * One spelling of a socket path: absolute, without "//", "/./" or symbolic
 * links (the socket's own included), so that every spelling of one socket
 * finds one inventory entry, one record and one lock.  A socket not there
 * yet keeps its last component as typed, in its resolved directory.  The
 * path stays as typed when its directory cannot be resolved or the result
 * would not fit a socket address.
 */
static void canonical_target(struct upcall_target *t)
{
	char dir[PATH_MAX], real[PATH_MAX], out[PATH_MAX];
	const char *slash = strrchr(t->path, '/'), *base = slash ? slash + 1 : t->path;
	int n;

	if (t->transport != UPCALL_TRANSPORT_UNIX || !t->path[0])
		return;
	if (realpath(t->path, real)) {
		n = snprintf(out, sizeof(out), "%s", real);
	} else {
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			return;
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - t->path) : 1,
			 slash ? (slash == t->path ? "/" : t->path) : ".");
		if (!realpath(dir, real))
			return;
		n = snprintf(out, sizeof(out), "%s/%s", strcmp(real, "/") ? real : "", base);
	}
	if (n > 0 && (size_t)n < sizeof(t->path))
		memcpy(t->path, out, (size_t)n + 1);
}

/* Do @a (canonical) and the inventory's @b name one socket, however @b is spelled? */
static bool same_socket(const struct upcall_target *a, const struct upcall_target *b)
{
	struct upcall_target c = *b;

	if (same_target(a, b))
		return true;
	if (a->transport != UPCALL_TRANSPORT_UNIX || b->transport != UPCALL_TRANSPORT_UNIX)
		return false;
	canonical_target(&c);
	return same_target(a, &c);
}

static bool looks_like_target(const char *vm)
{
	return strchr(vm, '/') || !strncmp(vm, "unix:", 5) || !strncmp(vm, "vsock:", 6);
}

int inventory_files(const char *config, char files[INVENTORY_MAX_FILES][PATH_MAX])
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (config) {
		snprintf(files[0], PATH_MAX, "%s", config);
		return 1;
	}
	snprintf(files[0], PATH_MAX, "%s", INVENTORY_SYSTEM_FILE);
	if (xdg && *xdg)
		snprintf(files[1], PATH_MAX, "%s/upcall/vms.yaml", xdg);
	else if (home && *home)
		snprintf(files[1], PATH_MAX, "%s/.config/upcall/vms.yaml", home);
	else
		return 1;
	return 2;
}

/* 1 found, 0 not, or an exit code with @ue set (as a negative number). */
static int search(const char *config, const char *name, const struct upcall_target *t,
		  struct vm_entry *e, char *tried, size_t triedlen, struct ucerr *ue)
{
	char files[INVENTORY_MAX_FILES][PATH_MAX], err[700];
	int n = inventory_files(config, files), rc;

	tried[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (config && access(files[i], F_OK) < 0) {
			int saved = errno;

			return -ucerr_set(ue, EXIT_USAGE, saved, "--config %s: %s", files[i],
					  strerror(saved));
		}
		/* a path needs no inventory: skip one this user may not read */
		if (t && !config && access(files[i], R_OK) < 0 && errno == EACCES)
			continue;
		rc = inventory_find(files[i], name, t, e, err, sizeof(err));
		if (rc < 0)
			return -ucerr_set(ue, EXIT_USAGE, 0, "%s", err);
		if (rc > 0)
			return 1;
		snprintf(tried + strlen(tried), triedlen - strlen(tried), "%s%s",
			 i ? ", " : "", files[i]);
	}
	return 0;
}

int inventory_resolve_group(const char *config, const char *group,
			    int (*add)(void *data, const char *vm), void *data,
			    struct ucerr *ue)
{
	char files[INVENTORY_MAX_FILES][PATH_MAX], err[700], tried[2 * PATH_MAX + 8] = "";
	int n = inventory_files(config, files), rc;

	for (int i = 0; i < n; i++) {
		rc = inventory_find_group(files[i], group, add, data, err, sizeof(err));
		if (rc < 0)
			return ucerr_set(ue, EXIT_USAGE, 0, "%s", err);
		if (rc > 0)
			return EXIT_DONE;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			 i ? ", " : "", files[i]);
	}
	return ucerr_set(ue, EXIT_USAGE, 0, "no group named \"%s\" in %s (add it under groups:)",
			 group, tried);
}

int inventory_resolve(const char *config, uint32_t port, const char *vm, struct vm_entry *e,
		      struct upcall_target *t, struct ucerr *ue)
{
	char err[256], tried[2 * PATH_MAX + 8];
	bool by_target = looks_like_target(vm);
	struct upcall_target key;	/* the target as the VM is known by */
	int rc;

	memset(e, 0, sizeof(*e));
	if (by_target && upcall_target_parse(vm, port, t, err, sizeof(err)) < 0)
		return ucerr_set(ue, EXIT_USAGE, 0, "%s", err);
	if (by_target) {
		key = *t;
		canonical_target(&key);
	}
	rc = search(config, vm, by_target ? &key : NULL, e, tried, sizeof(tried), ue);
	if (rc == 0 && !by_target && access(vm, F_OK) == 0) {
		/* a socket in the current directory, named without a slash */
		by_target = true;
		if (upcall_target_parse(vm, port, t, err, sizeof(err)) < 0)
			return ucerr_set(ue, EXIT_USAGE, 0, "%s", err);
		key = *t;
		canonical_target(&key);
		rc = search(config, vm, &key, e, tried, sizeof(tried), ue);
	}
	if (rc < 0)
		return -rc;
	if (rc == 0 && !by_target)
		return ucerr_set(ue, EXIT_USAGE, 0,
				 "no VM named \"%s\" in %s (give a socket path, unix:PATH or vsock:CID, or add it under vms:)",
				 vm, tried);
	if (rc == 0) {
		inventory_default(t, e);
		derived_name(&key, e->name, sizeof(e->name));
		snprintf(e->label, sizeof(e->label), "%s", vm);
	} else if (!by_target && upcall_target_parse(e->spec, port, t, err, sizeof(err)) < 0) {
		return ucerr_set(ue, EXIT_USAGE, 0, "%s: VM %s: %s", e->file, vm, err);
	}
	e->target = by_target ? key : *t;	/* connecting uses *t as typed */
	return EXIT_DONE;
}

void inventory_set_arch(struct vm_entry *e, enum upcall_arch arch)
{
	if (arch == UPCALL_ARCH_AARCH64)	/* CPU ids, no APIC topology */
		e->topo = (struct topology){ 1, e->max_vcpus, 1, 1 };
}
