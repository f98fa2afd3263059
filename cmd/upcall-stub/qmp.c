/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: a small QMP server standing in for QEMU's, so that tools
 * which make vCPUs and DIMMs in the VMM before telling the guest can be
 * tested without QEMU.  It is a test double, not QEMU: one JSON command a
 * line, and only the commands those tools use, answered as QEMU 7.2
 * answers them:
 *
 *   qmp_capabilities, query-hotpluggable-cpus (1 socket x --max-vcpus
 *   cores, APIC ID = core-id), device_add of a *-x86_64-cpu or a pc-dimm,
 *   qom-get of a vCPU's apic-id, object-add / object-del of a
 *   memory-backend-ram, qom-list /objects, query-memory-devices.
 *
 * Anything else is "CommandNotFound"; device_del is refused, since QEMU
 * completes an unplug only through the guest's ACPI.  DIMMs go at the
 * lowest free 2 MiB-aligned address from 4 GiB on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "../common/cli.h"	/* json_loadb_u64(): addresses up to 2^64-1 */
#include "stub.h"

#define QMP_LINE_MAX		65536
#define QMP_DEVICE_BASE		0x100000000ULL
#define QMP_DEVICE_SIZE		(64ULL << 30)
#define QMP_DIMM_ALIGN		(2ULL << 20)
#define QMP_CPU_TYPE		"qemu64-x86_64-cpu"

struct qmp_reply {
	json_t *ret;		/* the "return" value, or NULL with @error set */
	char error[200];
	const char *class;
};

static void qmp_error(struct qmp_reply *r, const char *class, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void qmp_error(struct qmp_reply *r, const char *class, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	r->class = class;
}

static bool valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	return n && n < STUB_ID_MAX && strspn(id, "abcdefghijklmnopqrstuvwxyz"
					      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* --- vCPUs --------------------------------------------------------------- */

static void vcpu_path(const struct stub_state *s, unsigned int apic, char *buf, size_t len)
{
	if (s->vcpu_id[apic][0])
		snprintf(buf, len, "/machine/peripheral/%s", s->vcpu_id[apic]);
	else
		snprintf(buf, len, "/machine/unattached/device[%u]", apic);
}

/* QEMU lists the slots from the highest. */
static json_t *query_cpus(struct stub *st)
{
	json_t *list = json_array();
	char path[STUB_ID_MAX + 32];

	for (unsigned int i = st->cfg.max_vcpus; list && i-- > 0;) {
		json_t *e = json_pack("{s:{s:i, s:i, s:i, s:i}, s:i, s:s}", "props",
				      "core-id", i, "thread-id", 0, "node-id", 0, "socket-id", 0,
				      "vcpus-count", 1, "type", QMP_CPU_TYPE);

		if (e && st->state.vcpu_made[i]) {
			vcpu_path(&st->state, i, path, sizeof(path));
			json_object_set_new(e, "qom-path", json_string(path));
		}
		json_array_append_new(list, e);
	}
	return list;
}

static bool id_in_use(const struct stub_state *s, const char *id)
{
	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++)
		if (!strcmp(s->vcpu_id[i], id))
			return true;
	for (unsigned int i = 0; i < s->ndimms; i++)
		if (!strcmp(s->dimms[i].id, id))
			return true;
	return false;
}

static bool prop_is(json_t *args, const char *key, json_int_t want)
{
	json_t *v = json_object_get(args, key);

	return !v || (json_is_integer(v) && json_integer_value(v) == want);
}

static void add_cpu(struct stub *st, json_t *args, const char *id, struct qmp_reply *r)
{
	json_t *core = json_object_get(args, "core-id");
	json_int_t c = json_integer_value(core);

	if (!json_is_integer(core) || c < 0 || c >= st->cfg.max_vcpus ||
	    !prop_is(args, "socket-id", 0) || !prop_is(args, "thread-id", 0) ||
	    !prop_is(args, "die-id", 0))
		return qmp_error(r, "GenericError",
				 "Invalid CPU [socket: 0, core: %lld, thread: 0], it has no slot",
				 (long long)c);
	if (st->state.vcpu_made[c])
		return qmp_error(r, "GenericError", "CPU[%lld] with APIC ID %lld exists",
				 (long long)c, (long long)c);
	st->state.vcpu_made[c] = true;
	snprintf(st->state.vcpu_id[c], STUB_ID_MAX, "%s", id ? id : "");
	r->ret = json_object();
}

/* qom-get PATH apic-id, of a vCPU the VMM has. */
static void qom_get(struct stub *st, json_t *args, struct qmp_reply *r)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *prop = json_string_value(json_object_get(args, "property"));
	char p[STUB_ID_MAX + 32];

	for (unsigned int i = 0; path && i < STUB_MAX_CPUS; i++) {
		if (!st->state.vcpu_made[i])
			continue;
		vcpu_path(&st->state, i, p, sizeof(p));
		if (strcmp(p, path))
			continue;
		if (!prop || strcmp(prop, "apic-id"))
			return qmp_error(r, "GenericError", "Property '%s' not found",
					 prop ? prop : "");
		r->ret = json_integer(i);
		return;
	}
	qmp_error(r, "DeviceNotFound", "Device '%s' not found", path ? path : "");
}

/* --- memory -------------------------------------------------------------- */

static struct stub_backend *find_backend(struct stub_state *s, const char *id)
{
	for (unsigned int i = 0; id && i < s->nbackends; i++)
		if (!strcmp(s->backends[i].id, id))
			return &s->backends[i];
	return NULL;
}

static void object_add(struct stub *st, json_t *args, struct qmp_reply *r)
{
	struct stub_state *s = &st->state;
	const char *type = json_string_value(json_object_get(args, "qom-type"));
	const char *id = json_string_value(json_object_get(args, "id"));
	json_t *size = json_object_get(args, "size");

	if (!type || strcmp(type, "memory-backend-ram"))
		return qmp_error(r, "GenericError", "invalid object type: %s", type ? type : "");
	if (!valid_id(id))
		return qmp_error(r, "GenericError", "Parameter 'id' expects an identifier");
	if (!json_is_integer(size) || json_integer_value(size) <= 0 ||
	    json_integer_value(size) % 4096)
		return qmp_error(r, "GenericError", "property 'size' of memory-backend-ram is invalid");
	if (find_backend(s, id))
		return qmp_error(r, "GenericError",
				 "attempt to add duplicate property '%s' to object (type 'container')",
				 id);
	if (s->nbackends == STUB_MAX_BACKENDS)
		return qmp_error(r, "GenericError", "upcall-stub: no room for more memory backends");
	s->backends[s->nbackends] = (struct stub_backend){ .size = (__u64)json_integer_value(size) };
	snprintf(s->backends[s->nbackends++].id, STUB_ID_MAX, "%s", id);
	r->ret = json_object();
}

static void object_del(struct stub *st, json_t *args, struct qmp_reply *r)
{
	struct stub_state *s = &st->state;
	const char *id = json_string_value(json_object_get(args, "id"));
	struct stub_backend *b = find_backend(s, id);

	if (!b)
		return qmp_error(r, "GenericError", "object '%s' not found", id ? id : "");
	if (b->used)
		return qmp_error(r, "GenericError", "object '%s' is in use, can not be deleted", id);
	*b = s->backends[--s->nbackends];
	r->ret = json_object();
}

static const struct stub_dimm *dimm_over(const struct stub_state *s, __u64 base, __u64 size)
{
	for (unsigned int i = 0; i < s->ndimms; i++)
		if (base < s->dimms[i].base + s->dimms[i].size && s->dimms[i].base < base + size)
			return &s->dimms[i];
	return NULL;
}

/* The lowest aligned free address of the device memory window, or 0. */
static __u64 dimm_place(const struct stub_state *s, __u64 size)
{
	const struct stub_dimm *d;
	__u64 b = QMP_DEVICE_BASE;

	while (b + size <= QMP_DEVICE_BASE + QMP_DEVICE_SIZE) {
		if (!(d = dimm_over(s, b, size)))
			return b;
		b = (d->base + d->size + QMP_DIMM_ALIGN - 1) / QMP_DIMM_ALIGN * QMP_DIMM_ALIGN;
	}
	return 0;
}

static void add_dimm(struct stub *st, json_t *args, const char *id, struct qmp_reply *r)
{
	struct stub_state *s = &st->state;
	const char *memdev = json_string_value(json_object_get(args, "memdev"));
	struct stub_backend *b = find_backend(s, memdev);
	json_t *addr = json_object_get(args, "addr");
	const struct stub_dimm *d;
	unsigned int pos = 0;
	uint64_t base = 0;

	if (!b)
		return qmp_error(r, "GenericError", "'memdev' property is not set or names no backend");
	if (b->used)
		return qmp_error(r, "GenericError", "can't use already busy memdev: %s", memdev);
	if (s->ndimms == STUB_MAX_DIMMS)
		return qmp_error(r, "GenericError", "no free slot found");
	if (addr && json_u64_value(addr, &base))
		return qmp_error(r, "GenericError", "Parameter 'addr' expects uint64");
	if (!addr)
		base = dimm_place(s, b->size);
	if (!base || base % QMP_DIMM_ALIGN || base < QMP_DEVICE_BASE ||
	    base + b->size > QMP_DEVICE_BASE + QMP_DEVICE_SIZE)
		return qmp_error(r, "GenericError",
				 "can't add memory device [0x%llx:0x%llx], usable range for memory devices [0x%llx:0x%llx]",
				 (unsigned long long)base, (unsigned long long)b->size,
				 QMP_DEVICE_BASE, QMP_DEVICE_SIZE);
	if ((d = dimm_over(s, base, b->size)))
		return qmp_error(r, "GenericError",
				 "address range conflicts with memory device id='%s'", d->id);
	while (pos < s->ndimms && s->dimms[pos].base < base)
		pos++;
	memmove(&s->dimms[pos + 1], &s->dimms[pos], (s->ndimms - pos) * sizeof(s->dimms[0]));
	s->dimms[pos] = (struct stub_dimm){ .base = base, .size = b->size };
	snprintf(s->dimms[pos].id, STUB_ID_MAX, "%s", id ? id : "");
	snprintf(s->dimms[pos].memdev, STUB_ID_MAX, "%s", memdev);
	s->ndimms++;
	b->used = true;
	r->ret = json_object();
}

static json_t *query_memory(const struct stub_state *s)
{
	json_t *list = json_array();

	for (unsigned int i = 0; list && i < s->ndimms; i++) {
		const struct stub_dimm *d = &s->dimms[i];
		char memdev[STUB_ID_MAX + 16];
		json_t *data;

		snprintf(memdev, sizeof(memdev), "/objects/%s", d->memdev);
		data = json_pack("{s:s, s:b, s:o, s:b, s:o, s:i, s:i}", "memdev", memdev,
				 "hotplugged", 1, "addr", json_u64(d->base), "hotpluggable", 1,
				 "size", json_u64(d->size), "slot", i, "node", 0);
		if (data && d->id[0])
			json_object_set_new(data, "id", json_string(d->id));
		json_array_append_new(list, json_pack("{s:s, s:o}", "type", "dimm", "data", data));
	}
	return list;
}

static json_t *list_objects(const struct stub_state *s)
{
	json_t *list = json_array();

	for (unsigned int i = 0; list && i < s->nbackends; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "name", s->backends[i].id,
						      "type", "child<memory-backend-ram>"));
	return list;
}

/* --- dispatch ------------------------------------------------------------ */

static void device_add(struct stub *st, json_t *args, struct qmp_reply *r)
{
	const char *driver = json_string_value(json_object_get(args, "driver"));
	json_t *id = json_object_get(args, "id");
	size_t n = driver ? strlen(driver) : 0;

	if (id && !valid_id(json_string_value(id)))
		return qmp_error(r, "GenericError", "Parameter 'id' expects an identifier");
	if (id && id_in_use(&st->state, json_string_value(id)))
		return qmp_error(r, "GenericError", "Duplicate device ID '%s'", json_string_value(id));
	if (st->cfg.arch == STUB_ARCH_X86_64 && n > 11 && !strcmp(driver + n - 11, "-x86_64-cpu"))
		return add_cpu(st, args, json_string_value(id), r);
	if (driver && !strcmp(driver, "pc-dimm"))
		return add_dimm(st, args, json_string_value(id), r);
	qmp_error(r, "GenericError", "'%s' is not a valid device model name", driver ? driver : "");
}

static bool string_is(json_t *j, const char *want)
{
	return json_is_string(j) && !strcmp(json_string_value(j), want);
}

static void run(struct stub *st, const char *cmd, json_t *args, struct qmp_reply *r)
{
	if (!strcmp(cmd, "query-hotpluggable-cpus") && st->cfg.arch == STUB_ARCH_X86_64)
		r->ret = query_cpus(st);
	else if (!strcmp(cmd, "device_add"))
		device_add(st, args, r);
	else if (!strcmp(cmd, "qom-get"))
		qom_get(st, args, r);
	else if (!strcmp(cmd, "object-add"))
		object_add(st, args, r);
	else if (!strcmp(cmd, "object-del"))
		object_del(st, args, r);
	else if (!strcmp(cmd, "qom-list") && string_is(json_object_get(args, "path"), "/objects"))
		r->ret = list_objects(&st->state);
	else if (!strcmp(cmd, "query-memory-devices"))
		r->ret = query_memory(&st->state);
	else if (!strcmp(cmd, "device_del"))
		qmp_error(r, "GenericError",
			  "upcall-stub does not model unplug: QEMU completes it only through the guest's ACPI");
	else
		qmp_error(r, "CommandNotFound", "The command %s has not been found", cmd);
}

/* One command in, one answer out (NULL: close the connection). */
static json_t *handle(struct stub *st, json_t *req, bool *negotiated)
{
	const char *cmd = json_string_value(json_object_get(req, "execute"));
	json_t *args = json_object_get(req, "arguments"), *out;
	struct qmp_reply r = { 0 };

	if (!cmd || (args && !json_is_object(args))) {
		qmp_error(&r, "GenericError", "QMP input member 'execute' is missing or bad");
	} else if (!*negotiated) {
		if (!strcmp(cmd, "qmp_capabilities")) {
			*negotiated = true;
			r.ret = json_object();
		} else {
			qmp_error(&r, "CommandNotFound",
				  "Expecting capabilities negotiation with 'qmp_capabilities'");
		}
	} else {
		pthread_mutex_lock(&st->lock);
		run(st, cmd, args, &r);
		stub_state_write(st);
		pthread_mutex_unlock(&st->lock);
	}
	stub_log(st, "QMP %s: %s\n", cmd ? cmd : "?", r.ret ? "ok" : r.error);
	if (r.ret)
		out = json_pack("{s:o}", "return", r.ret);
	else
		out = json_pack("{s:{s:s, s:s}}", "error", "class", r.class, "desc", r.error);
	if (out && json_object_get(req, "id"))
		json_object_set(out, "id", json_object_get(req, "id"));
	return out;
}

static bool send_json(int fd, json_t *j)
{
	char *text = j ? json_dumps_u64(j, JSON_COMPACT) : NULL;
	bool ok = text && stub_write_full(fd, text, strlen(text)) == 0 &&
		  stub_write_full(fd, "\r\n", 2) == 0;

	free(text);
	json_decref(j);
	return ok;
}

/* Lines until the client closes, a line is too long, or the stub stops. */
void stub_qmp_serve(struct stub *st, int fd)
{
	char *buf = malloc(QMP_LINE_MAX);
	size_t len = 0;
	bool negotiated = false;

	if (!buf || !send_json(fd, json_pack("{s:{s:{s:{s:i, s:i, s:i}, s:s}, s:[]}}", "QMP",
					     "version", "qemu", "micro", 0, "minor", 2, "major", 7,
					     "package", "upcall-stub", "capabilities"))) {
		free(buf);
		return;
	}
	while (stub_wait_readable(st, fd, -1) > 0) {
		ssize_t n = recv(fd, buf + len, QMP_LINE_MAX - len, 0);
		char *nl;

		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		len += n > 0 ? (size_t)n : 0;
		while ((nl = memchr(buf, '\n', len))) {
			json_t *req = json_loadb_u64(buf, (size_t)(nl - buf), 0);
			json_t *out = json_is_object(req) ? handle(st, req, &negotiated) :
				json_pack("{s:{s:s, s:s}}", "error", "class", "GenericError",
					  "desc", "JSON parse error");

			json_decref(req);
			len -= (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len);
			if (!send_json(fd, out))
				goto out;
		}
		if (len == QMP_LINE_MAX)
			break;
	}
out:
	free(buf);
}
