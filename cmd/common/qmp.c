// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's QMP as a VMM API: JSON objects, one a line, over a Unix socket.
 * The greeting, then qmp_capabilities, then one command at a time, each
 * with an id its answer must echo; asynchronous events in between are
 * skipped.  Everything QEMU says is checked (types, ranges) before use.
 *
 * vCPUs: query-hotpluggable-cpus lists every slot with its socket, die,
 * core and thread ids; QEMU gives each level ceil(log2(count)) bits of
 * the APIC ID, as the tools' topology does, so a slot's APIC ID follows
 * from its ids.  A slot with a qom-path has its vCPU already: its apic-id
 * is read back (qom-get) and must agree.  Memory: a memory-backend-ram
 * and a pc-dimm on it; query-memory-devices says where QEMU put it.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "json.h"
#include "parse.h"
#include "topology.h"
#include "vmm.h"

#define QMP_LINE_MAX	(1 << 20)	/* 255 vCPU slots take about 40 KiB */
#define QMP_MAX_SLOTS	1024
#define QMP_MAX_ID	4095		/* of a socket, die, core, thread or node */
#define QMP_TYPE_MAX	64

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static enum upcall_status wait_fd(struct vmm *v, short events, uint64_t deadline,
				  const char *what)
{
	struct pollfd p[2] = {
		{ .fd = v->fd, .events = events },
		{ .fd = v->cancel_fd, .events = POLLIN },
	};

	for (;;) {
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return vmm_fail(v, UPCALL_ERR_TIMEOUT, "timed out after %gs %s",
					v->timeout_ms / 1000.0, what);
		n = poll(p, 2, (int)(deadline - now));
		if (n > 0 && p[1].revents)
			return vmm_fail(v, UPCALL_ERR_CANCELLED, "interrupted %s", what);
		if (n > 0)
			return UPCALL_OK;
		if (n < 0 && errno != EINTR)
			return vmm_fail(v, UPCALL_ERR_SYSTEM, "poll failed %s: %s", what,
					strerror(errno));
	}
}

static enum upcall_status send_all(struct vmm *v, const char *p, size_t len,
				   uint64_t deadline, const char *what)
{
	while (len) {
		ssize_t n = send(v->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		enum upcall_status st;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if ((st = wait_fd(v, POLLOUT, deadline, what)))
				return st;
		} else if (errno == EPIPE || errno == ECONNRESET) {
			return vmm_fail(v, UPCALL_ERR_UNREACHABLE,
					"the VMM closed its QMP socket %s while %s", v->path, what);
		} else {
			return vmm_fail(v, UPCALL_ERR_SYSTEM, "send failed %s: %s", what,
					strerror(errno));
		}
	}
	return UPCALL_OK;
}

/* Up to 60 bytes of what the VMM sent, printable. */
static void quote(const char *p, size_t len, char *out, size_t outlen)
{
	size_t n = len < 60 ? len : 60, i;

	for (i = 0; i < n && i + 4 < outlen; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' ? p[i] : '?';
	if (n < len && i + 4 < outlen)
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = '\0';
}

/* The first line of the buffer as a JSON object; consumed either way. */
static enum upcall_status take_line(struct vmm *v, size_t end, const char *what,
				    json_t **msg)
{
	json_t *j = json_loadb_u64(v->buf, end, JSON_REJECT_DUPLICATES);
	char shown[72];

	quote(v->buf, end && v->buf[end - 1] == '\r' ? end - 1 : end, shown, sizeof(shown));
	memmove(v->buf, v->buf + end + 1, v->len - end - 1);
	v->len -= end + 1;
	if (json_is_object(j)) {
		*msg = j;
		return UPCALL_OK;
	}
	json_decref(j);
	return vmm_fail(v, UPCALL_ERR_PROTOCOL,
			"VMM socket %s does not speak QMP: \"%s\" is not a JSON object (%s)",
			v->path, shown, what);
}

static enum upcall_status read_message(struct vmm *v, uint64_t deadline,
				       const char *what, json_t **msg)
{
	enum upcall_status st;

	for (;;) {
		char *nl = v->len ? memchr(v->buf, '\n', v->len) : NULL;
		ssize_t n;

		if (nl)
			return take_line(v, (size_t)(nl - v->buf), what, msg);
		if (v->len >= QMP_LINE_MAX)
			return vmm_fail(v, UPCALL_ERR_PROTOCOL,
					"the VMM sent more than %d bytes without a newline while %s",
					QMP_LINE_MAX, what);
		if (v->cap - v->len < 4096) {
			size_t cap = v->cap ? 2 * v->cap : 16384;
			char *b = realloc(v->buf, cap);

			if (!b)
				return vmm_fail(v, UPCALL_ERR_SYSTEM, "out of memory");
			v->buf = b;
			v->cap = cap;
		}
		n = recv(v->fd, v->buf + v->len, v->cap - v->len, MSG_DONTWAIT);
		if (n > 0) {
			v->len += (size_t)n;
		} else if (n == 0 || errno == ECONNRESET) {
			return vmm_fail(v, UPCALL_ERR_UNREACHABLE,
					"the VMM closed its QMP socket %s while %s", v->path, what);
		} else if (errno == EAGAIN || errno == EINTR) {
			if ((st = wait_fd(v, POLLIN, deadline, what)))
				return st;
		} else {
			return vmm_fail(v, UPCALL_ERR_SYSTEM, "recv failed %s: %s", what,
					strerror(errno));
		}
	}
}

static void trace(struct vmm *v, const char *dir, const char *text, size_t len)
{
	if (v->trace)
		fprintf(v->trace, "qmp%s %.*s\n", dir, (int)len, text);
}

/* QMP's answer to a command: "return", or "error" with a "desc". */
static enum upcall_status answer(struct vmm *v, const char *cmd, json_t *m,
				 json_int_t id, json_t **ret)
{
	json_t *e = json_object_get(m, "error"), *r = json_object_get(m, "return");
	json_t *mid = json_object_get(m, "id");
	const char *desc;

	if (!json_is_integer(mid) || json_integer_value(mid) != id)
		return vmm_fail(v, UPCALL_ERR_PROTOCOL,
				"the VMM's answer to %s does not carry its id %" JSON_INTEGER_FORMAT,
				cmd, id);
	if (r && !e) {
		if (ret)
			*ret = json_incref(r);
		return UPCALL_OK;
	}
	desc = json_string_value(json_object_get(e, "desc"));
	if (json_is_object(e) && !r && desc)
		return vmm_fail(v, UPCALL_ERR_GUEST, "VMM refused %s: %s", cmd, desc);
	return vmm_fail(v, UPCALL_ERR_PROTOCOL,
			"the VMM answered %s with neither a return nor an error with a desc", cmd);
}

/* Run @cmd with @args (taken; may be NULL); its "return" in *@ret (if wanted). */
static enum upcall_status command(struct vmm *v, const char *cmd, json_t *args,
				  uint64_t deadline, json_t **ret)
{
	json_int_t id = (json_int_t)++v->next_id;
	json_t *req = json_pack("{s:s, s:I}", "execute", cmd, "id", id);
	char what[96], *text = NULL;
	enum upcall_status st;

	if (ret)
		*ret = NULL;
	if (!deadline)
		deadline = now_ms() + (uint64_t)v->timeout_ms;
	if (req && args)
		json_object_set(req, "arguments", args);
	json_decref(args);
	text = req ? json_dumps_u64(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text)
		return vmm_fail(v, UPCALL_ERR_SYSTEM, "out of memory");
	trace(v, ">", text, strlen(text));
	snprintf(what, sizeof(what), "sending %s to the VMM", cmd);
	st = send_all(v, text, strlen(text), deadline, what);
	if (!st)
		st = send_all(v, "\n", 1, deadline, what);
	free(text);
	snprintf(what, sizeof(what), "waiting for the VMM's answer to %s", cmd);
	while (!st) {
		json_t *m = NULL;

		if ((st = read_message(v, deadline, what, &m)))
			break;
		if (v->trace && (text = json_dumps(m, JSON_COMPACT))) {
			trace(v, "<", text, strlen(text));
			free(text);
		}
		if (!json_object_get(m, "event")) {
			st = answer(v, cmd, m, id, ret);
			json_decref(m);
			return st;
		}
		json_decref(m);	/* an asynchronous event: not ours */
	}
	return st;
}

static enum upcall_status connect_socket(struct vmm *v, uint64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memcpy(sa.sun_path, v->path, sizeof(sa.sun_path) - 1);
	v->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (v->fd < 0)
		return vmm_fail(v, UPCALL_ERR_SYSTEM, "socket(AF_UNIX) failed: %s", strerror(errno));
	while (connect(v->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		if (err == EAGAIN && now_ms() < deadline) {	/* backlog full */
			poll(NULL, 0, 1);
			continue;
		}
		if (err == EAGAIN)
			return vmm_fail(v, UPCALL_ERR_TIMEOUT,
					"timed out after %gs connecting to VMM socket %s (listen backlog full)",
					v->timeout_ms / 1000.0, v->path);
		if (err == EINTR)
			continue;
		return vmm_fail(v, UPCALL_ERR_UNREACHABLE, "failed to connect to VMM socket %s: %s%s",
				v->path, strerror(err),
				err == ECONNREFUSED ? " (is the VMM running?)" : "");
	}
	return UPCALL_OK;
}

/* The greeting, then capabilities negotiation (none asked for). */
static enum upcall_status handshake(struct vmm *v, uint64_t deadline)
{
	json_t *greeting = NULL, *ret = NULL;
	enum upcall_status st = read_message(v, deadline, "waiting for the QMP greeting",
					     &greeting);

	if (!st && !json_is_object(json_object_get(greeting, "QMP")))
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "VMM socket %s does not speak QMP: its greeting has no \"QMP\" object",
			      v->path);
	json_decref(greeting);
	if (!st)
		st = command(v, "qmp_capabilities", NULL, deadline, &ret);
	if (!st && !json_is_object(ret))
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM's answer to qmp_capabilities is not an object");
	json_decref(ret);
	return st;
}

static enum upcall_status qmp_open(struct vmm *v)
{
	uint64_t deadline = now_ms() + (uint64_t)v->timeout_ms;
	enum upcall_status st = connect_socket(v, deadline);

	return st ? st : handshake(v, deadline);
}

/* --- vCPUs ---------------------------------------------------------------- */

/* The x86 topology levels of a slot, lowest first, as QEMU names them. */
static const char *const levels[] = { "thread-id", "core-id", "die-id", "socket-id" };
#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

struct slot {
	json_t *props;			/* borrowed from the reply */
	const char *type;
	const char *qom;		/* NULL: no vCPU in the slot yet */
	unsigned int id[NLEVELS];
	unsigned int apic;
};

static bool valid_word(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	return n && n < max && strspn(s, "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static enum upcall_status bad_slot(struct vmm *v, size_t i, const char *why)
{
	return vmm_fail(v, UPCALL_ERR_PROTOCOL,
			"the VMM's query-hotpluggable-cpus: entry %zu %s", i, why);
}

static enum upcall_status parse_props(struct vmm *v, size_t i, json_t *props, struct slot *s)
{
	const char *key;
	json_t *val;

	if (!json_is_object(props))
		return bad_slot(v, i, "has no props object");
	json_object_foreach(props, key, val) {
		size_t l;

		if (!json_is_integer(val) || json_integer_value(val) < 0 ||
		    json_integer_value(val) > QMP_MAX_ID)
			return bad_slot(v, i, "has a prop that is not an id in 0..4095");
		for (l = 0; l < NLEVELS && strcmp(key, levels[l]); l++)
			;
		if (l < NLEVELS)
			s->id[l] = (unsigned int)json_integer_value(val);
		else if (strcmp(key, "node-id"))	/* a level the APIC ID would need */
			return vmm_fail(v, UPCALL_ERR_PROTOCOL,
					"the VMM's vCPU slots have a \"%.40s\" level; APIC IDs are known only for thread, core, die and socket",
					key);
	}
	return UPCALL_OK;
}

static enum upcall_status parse_slot(struct vmm *v, size_t i, json_t *e, struct slot *s)
{
	json_t *count = json_object_get(e, "vcpus-count"), *qom = json_object_get(e, "qom-path");

	memset(s, 0, sizeof(*s));
	if (!json_is_object(e))
		return bad_slot(v, i, "is not an object");
	s->type = json_string_value(json_object_get(e, "type"));
	if (!valid_word(s->type, QMP_TYPE_MAX))
		return bad_slot(v, i, "has no valid CPU type");
	if (!json_is_integer(count) || json_integer_value(count) != 1)
		return bad_slot(v, i, "is not a slot of one vCPU (vcpus-count)");
	if (qom && !(s->qom = json_string_value(qom)))
		return bad_slot(v, i, "has a qom-path that is not a string");
	s->props = json_object_get(e, "props");
	return parse_props(v, i, s->props, s);
}

/* Each level takes ceil(log2(its count)) bits, the count being its highest id + 1. */
static void slot_apic_ids(struct slot *s, size_t n)
{
	unsigned int top[NLEVELS] = { 0 }, shift[NLEVELS];

	for (size_t i = 0; i < n; i++)
		for (size_t l = 0; l < NLEVELS; l++)
			if (s[i].id[l] > top[l])
				top[l] = s[i].id[l];
	shift[0] = 0;
	for (size_t l = 1; l < NLEVELS; l++)
		shift[l] = shift[l - 1] + topology_bits(top[l - 1] + 1);
	for (size_t i = 0; i < n; i++) {
		uint64_t a = 0;

		for (size_t l = 0; l < NLEVELS; l++)
			a |= (uint64_t)s[i].id[l] << shift[l];
		s[i].apic = a > 255 ? 256 : (unsigned int)a;	/* 256: beyond upcall's IDs */
	}
}

/* query-hotpluggable-cpus into @slots (borrowing from *@reply). */
static enum upcall_status get_slots(struct vmm *v, json_t **reply, struct slot **slots,
				    size_t *n)
{
	enum upcall_status st = command(v, "query-hotpluggable-cpus", NULL, 0, reply);
	size_t count = json_array_size(*reply);

	*slots = NULL;
	*n = 0;
	if (st)
		return st;
	if (!json_is_array(*reply) || !count || count > QMP_MAX_SLOTS)
		return vmm_fail(v, UPCALL_ERR_PROTOCOL,
				"the VMM's query-hotpluggable-cpus is not a list of 1 to %d slots",
				QMP_MAX_SLOTS);
	*slots = calloc(count, sizeof(**slots));
	if (!*slots)
		return vmm_fail(v, UPCALL_ERR_SYSTEM, "out of memory");
	for (size_t i = 0; i < count; i++)
		if ((st = parse_slot(v, i, json_array_get(*reply, i), &(*slots)[i])))
			return st;
	slot_apic_ids(*slots, count);
	for (size_t i = 0; i < count; i++)
		for (size_t j = 0; j < i; j++)
			if ((*slots)[i].apic < 256 && (*slots)[i].apic == (*slots)[j].apic)
				return vmm_fail(v, UPCALL_ERR_PROTOCOL,
						"the VMM's query-hotpluggable-cpus lists two slots with APIC ID %u",
						(*slots)[i].apic);
	*n = count;
	return UPCALL_OK;
}

static struct slot *find_slot(struct slot *s, size_t n, unsigned int apic)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].apic == apic)
			return &s[i];
	return NULL;
}

/* An existing vCPU: its own apic-id must be the one its ids give. */
static enum upcall_status check_apic(struct vmm *v, const struct slot *s)
{
	json_t *ret = NULL;
	enum upcall_status st = command(v, "qom-get",
		json_pack("{s:s, s:s}", "path", s->qom, "property", "apic-id"), 0, &ret);

	if (!st && (!json_is_integer(ret) || json_integer_value(ret) != (json_int_t)s->apic))
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM's vCPU %.100s has apic-id %s%" JSON_INTEGER_FORMAT
			      " where its slot's ids give %u",
			      s->qom, json_is_integer(ret) ? "" : "(not a number) ",
			      json_is_integer(ret) ? json_integer_value(ret) : 0, s->apic);
	json_decref(ret);
	return st;
}

static enum upcall_status create_vcpu(struct vmm *v, const struct slot *s)
{
	json_t *args = json_deep_copy(s->props);
	char id[VMM_ID_MAX];

	snprintf(id, sizeof(id), VMM_CPU_PREFIX "%u", s->apic);
	if (!args || json_object_set_new(args, "driver", json_string(s->type)) ||
	    json_object_set_new(args, "id", json_string(id))) {
		json_decref(args);
		return vmm_fail(v, UPCALL_ERR_SYSTEM, "out of memory");
	}
	return command(v, "device_add", args, 0, NULL);
}

static enum upcall_status no_slot(struct vmm *v, const struct slot *s, size_t n, uint8_t apic)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS];
	unsigned int k = 0;
	char list[ID_LIST_MAX];

	for (unsigned int a = 0; a < UPCALL_MAX_APIC_IDS; a++)
		if (find_slot((struct slot *)s, n, a))
			ids[k++] = (uint8_t)a;
	format_id_list(ids, k, list, sizeof(list));
	return vmm_fail(v, UPCALL_ERR_INVALID,
			"the VMM has no vCPU slot with APIC ID %u (its slots have APIC IDs %s)",
			apic, k ? list : "none");
}

static enum upcall_status qmp_add_vcpus(struct vmm *v, const uint8_t *ids, unsigned int n,
					bool *created, uint8_t *have, unsigned int *nhave)
{
	json_t *reply = NULL;
	struct slot *slots, *s;
	enum upcall_status st = UPCALL_OK;
	size_t count;
	unsigned int i;

	st = get_slots(v, &reply, &slots, &count);
	for (i = 0; !st && i < n; i++) {
		s = find_slot(slots, count, ids[i]);
		if (!s)
			st = no_slot(v, slots, count, ids[i]);
		else if (s->qom)
			st = check_apic(v, s);
	}
	for (i = 0; !st && i < n; i++) {
		s = find_slot(slots, count, ids[i]);
		if (s->qom)
			continue;
		st = v->dry_run ? UPCALL_OK : create_vcpu(v, s);
		created[i] = !st;
		s->qom = st ? NULL : "";
	}
	for (unsigned int a = 0; a < UPCALL_MAX_APIC_IDS && slots; a++)
		if ((s = find_slot(slots, count, a)) && s->qom)
			have[(*nhave)++] = (uint8_t)a;
	free(slots);
	json_decref(reply);
	return st;
}

/* --- memory --------------------------------------------------------------- */

static bool get_u64(json_t *o, const char *key, uint64_t *v)
{
	return json_u64_value(json_object_get(o, key), v) == 0;
}

static void dimm_id(const char *id, struct vmm_dimm *d)
{
	size_t n = strlen(VMM_DIMM_PREFIX);

	if (strlen(id) < sizeof(d->id))
		snprintf(d->id, sizeof(d->id), "%s", id);
	else
		snprintf(d->id, sizeof(d->id), "%.*s...", (int)sizeof(d->id) - 4, id);
	d->ours = d->dimm && !strncmp(id, VMM_DIMM_PREFIX, n) && id[n] &&
		  strspn(id + n, "0123456789") == strlen(id + n);
}

static int bad_device(struct vmm *v, size_t i, const char *why)
{
	vmm_fail(v, UPCALL_ERR_PROTOCOL, "the VMM's query-memory-devices: entry %zu %s", i, why);
	return -1;
}

/*
 * One entry of query-memory-devices: 1 taken, 0 skipped (a device at no
 * address), -1 refused.  A pc-dimm is "dimm"; other kinds (nvdimm,
 * virtio-mem, ...) only take room, their range from "memaddr" and
 * "max-size" where they have them.
 */
static int parse_device(struct vmm *v, size_t i, json_t *e, struct vmm_dimm *d)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	json_t *data = json_object_get(e, "data"), *id;

	memset(d, 0, sizeof(*d));
	if (!type || !json_is_object(data))
		return bad_device(v, i, "has no type or data");
	d->dimm = !strcmp(type, "dimm");
	if (!get_u64(data, "addr", &d->base) && !get_u64(data, "memaddr", &d->base))
		return d->dimm ? bad_device(v, i, "is a DIMM without an address") : 0;
	if (!get_u64(data, "max-size", &d->size) && !get_u64(data, "size", &d->size))
		d->size = 0;
	if (!d->size || d->base + d->size < d->base)
		return bad_device(v, i, "has an empty or wrapping range");
	id = json_object_get(data, "id");
	if (id && !json_is_string(id))
		return bad_device(v, i, "has an id that is not a string");
	dimm_id(id ? json_string_value(id) : "", d);
	return 1;
}

static int by_base(const void *a, const void *b)
{
	const struct vmm_dimm *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static enum upcall_status qmp_list_dimms(struct vmm *v, struct vmm_dimm *d, unsigned int *n)
{
	json_t *reply = NULL;
	enum upcall_status st = command(v, "query-memory-devices", NULL, 0, &reply);
	size_t count = json_array_size(reply);

	if (!st && (!json_is_array(reply) || count > VMM_MAX_DIMMS))
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM's query-memory-devices is not a list of at most %d devices",
			      VMM_MAX_DIMMS);
	for (size_t i = 0; !st && i < count; i++) {
		int r = parse_device(v, i, json_array_get(reply, i), &d[*n]);

		if (r < 0)
			st = UPCALL_ERR_PROTOCOL;
		*n += r > 0;
	}
	json_decref(reply);
	if (!st)
		qsort(d, *n, sizeof(*d), by_base);
	for (unsigned int i = 1; !st && i < *n; i++)
		if (d[i - 1].base + d[i - 1].size > d[i].base)
			st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
				      "the VMM's query-memory-devices lists overlapping devices at 0x%" PRIx64,
				      d[i].base);
	if (st)
		*n = 0;
	return st;
}

/* Is @id the name of an object or the id of a memory device? */
static bool id_taken(json_t *objects, const struct vmm_dimm *d, unsigned int nd,
		     const char *id)
{
	json_t *o;
	size_t i;

	for (unsigned int k = 0; k < nd; k++)
		if (!strcmp(d[k].id, id))
			return true;
	json_array_foreach(objects, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));

		if (name && !strcmp(name, id))
			return true;
	}
	return false;
}

/* The lowest N for which neither upcall-memN nor upcall-dimmN exists. */
static enum upcall_status pick_number(struct vmm *v, struct vmm_dimm *d, unsigned int *n)
{
	unsigned int nd = 0;
	json_t *objects = NULL;
	enum upcall_status st = qmp_list_dimms(v, d, &nd);
	char mem[VMM_ID_MAX], dimm[VMM_ID_MAX];

	if (!st)
		st = command(v, "qom-list", json_pack("{s:s}", "path", "/objects"), 0, &objects);
	if (!st && !json_is_array(objects))
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL, "the VMM's qom-list of /objects is not a list");
	for (*n = 0; !st; ++*n) {
		snprintf(mem, sizeof(mem), VMM_MEM_PREFIX "%u", *n);
		snprintf(dimm, sizeof(dimm), VMM_DIMM_PREFIX "%u", *n);
		if (!id_taken(objects, d, nd, mem) && !id_taken(objects, d, nd, dimm))
			break;
	}
	json_decref(objects);
	return st;
}

static enum upcall_status qmp_add_dimm(struct vmm *v, uint64_t size, bool at, uint64_t base,
				       struct vmm_dimm *out)
{
	struct vmm_dimm *d = calloc(VMM_MAX_DIMMS, sizeof(*d));
	char mem[VMM_ID_MAX], dimm[VMM_ID_MAX], undo[VMM_ID_MAX + 64] = "";
	enum upcall_status st;
	unsigned int n = 0, nd = 0;
	json_t *args;

	if (!d)
		return vmm_fail(v, UPCALL_ERR_SYSTEM, "out of memory");
	st = pick_number(v, d, &n);
	snprintf(mem, sizeof(mem), VMM_MEM_PREFIX "%u", n);
	snprintf(dimm, sizeof(dimm), VMM_DIMM_PREFIX "%u", n);
	if (!st && v->dry_run) {
		*out = (struct vmm_dimm){ .base = at ? base : 0, .size = size,
					  .ours = true, .dimm = true };
		snprintf(out->id, sizeof(out->id), "%s", dimm);
		free(d);
		return UPCALL_OK;
	}
	if (!st)
		st = command(v, "object-add", json_pack("{s:s, s:s, s:I}", "qom-type",
			     "memory-backend-ram", "id", mem, "size", (json_int_t)size), 0, NULL);
	if (!st) {
		args = json_pack("{s:s, s:s, s:s}", "driver", "pc-dimm", "id", dimm, "memdev", mem);
		if (args && at)
			json_object_set_new(args, "addr", json_u64(base));
		st = command(v, "device_add", args, 0, NULL);
		if (st) {	/* nothing uses the backend: take it away again */
			char err[sizeof(v->err)];

			memcpy(err, v->err, sizeof(err));
			if (command(v, "object-del", json_pack("{s:s}", "id", mem), 0, NULL))
				snprintf(undo, sizeof(undo), "; its memory backend %s stays", mem);
			snprintf(v->err, sizeof(v->err), "%.480s%.110s", err, undo);
		}
	}
	if (!st)
		st = qmp_list_dimms(v, d, &nd);
	for (unsigned int i = 0; !st && i < nd && !out->id[0]; i++)
		if (!strcmp(d[i].id, dimm))
			*out = d[i];
	if (!st && !out->id[0])
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM added DIMM %s but query-memory-devices does not list it", dimm);
	if (!st && !out->dimm)
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM added DIMM %s but query-memory-devices lists it as another kind of device",
			      dimm);
	if (!st && out->size != size)
		st = vmm_fail(v, UPCALL_ERR_PROTOCOL,
			      "the VMM's DIMM %s has 0x%" PRIx64 " bytes, not the 0x%" PRIx64 " asked for",
			      dimm, out->size, size);
	free(d);
	return st;
}

const struct vmm_ops vmm_qmp_ops = {
	.name = "QMP",
	.open = qmp_open,
	.close = NULL,
	.add_vcpus = qmp_add_vcpus,
	.list_dimms = qmp_list_dimms,
	.add_dimm = qmp_add_dimm,
};
