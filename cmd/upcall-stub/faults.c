/* SPDX-License-Identifier: GPL-2.0-or-later */
/* upcall-stub: fault switches (--fault NAME[=ARG]). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stub.h"

#define STUB_BAD_MAGIC		0x444D0200U	/* "DM" version 2.0 */
#define STUB_SLOW_DRIP_DEFAULT	100

enum fault_arg { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

enum fault_field { F_BOOL, F_INT, F_UINT, F_ULONG };

struct fault_def {
	const char *name;
	enum fault_arg arg;
	unsigned long min, max;
	enum fault_field type;
	size_t off;		/* of the field in struct stub_faults */
};

#define FLAG(name, field) \
	{ name, ARG_NONE, 0, 0, F_BOOL, offsetof(struct stub_faults, field) }
#define VALUE(name, arg, min, max, type, field) \
	{ name, arg, min, max, type, offsetof(struct stub_faults, field) }

static const struct fault_def fault_defs[] = {
	FLAG("no-listener", no_listener),
	FLAG("no-connect-frame", no_connect_frame),
	FLAG("bad-magic", bad_magic),
	FLAG("wrong-type", wrong_type),
	FLAG("no-reply", no_reply),
	FLAG("short-reply", short_reply),
	FLAG("close-mid-frame", close_mid_frame),
	FLAG("garbage-ok", garbage_ok),
	FLAG("endless-ok", endless_ok),
	FLAG("lie-index", lie_index),
	FLAG("no-index", no_index),
	VALUE("errno", ARG_REQUIRED, 1, 4095, F_INT, refuse_errno),
	VALUE("fail-cpu", ARG_REQUIRED, 1, UPCALL_MAX_CPU_COUNT, F_UINT, fail_cpu),
	VALUE("stop-cpu", ARG_REQUIRED, 1, UPCALL_MAX_CPU_COUNT, F_UINT, stop_cpu),
	VALUE("slow-drip", ARG_OPTIONAL, 1, 60000, F_UINT, slow_drip_ms),
	VALUE("reply-after", ARG_REQUIRED, 1, 3600000, F_UINT, reply_after_ms),
	VALUE("exit-after", ARG_REQUIRED, 1, ULONG_MAX, F_ULONG, exit_after),
};

int stub_parse_ulong(const char *s, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || *out < min || *out > max ? -1 : 0;
}

static const struct fault_def *fault_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(fault_defs) / sizeof(fault_defs[0]); i++) {
		if (strlen(fault_defs[i].name) == len &&
		    memcmp(fault_defs[i].name, name, len) == 0)
			return &fault_defs[i];
	}
	return NULL;
}

/* @v is within the def's bounds, so it fits the field. */
static void fault_set(struct stub_faults *f, const struct fault_def *d,
		      unsigned long v)
{
	void *field = (char *)f + d->off;

	switch (d->type) {
	case F_BOOL:
		*(bool *)field = true;
		break;
	case F_INT:
		*(int *)field = (int)v;
		break;
	case F_UINT:
		*(unsigned int *)field = (unsigned int)v;
		break;
	case F_ULONG:
		*(unsigned long *)field = v;
		break;
	}
}

/* Parse one --fault NAME[=ARG]; 0 or -1 with a message in @err. */
int stub_fault_parse(struct stub_faults *f, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	size_t len = eq ? (size_t)(eq - spec) : strlen(spec);
	const struct fault_def *d = fault_find(spec, len);
	unsigned long v = STUB_SLOW_DRIP_DEFAULT;

	if (!d) {
		snprintf(err, errlen, "unknown fault '%.*s' (see --help)", (int)len, spec);
		return -1;
	}
	if (eq && d->arg == ARG_NONE) {
		snprintf(err, errlen, "fault '%s' takes no argument", d->name);
		return -1;
	}
	if (!eq && d->arg == ARG_REQUIRED) {
		snprintf(err, errlen, "fault '%s' needs =N", d->name);
		return -1;
	}
	if (eq && stub_parse_ulong(eq + 1, d->min, d->max, &v) < 0) {
		snprintf(err, errlen, "fault '%s': '%s' is not a number in %lu..%lu",
			 d->name, eq + 1, d->min, d->max);
		return -1;
	}
	fault_set(f, d, v);
	return 0;
}

/* bad-magic, wrong-type: corrupt a reply frame that is about to go out. */
void stub_fault_mangle_reply(const struct stub_faults *f, __u8 *frame)
{
	struct upcall_msg_header hdr;

	memcpy(&hdr, frame, sizeof(hdr));
	if (f->bad_magic)
		hdr.magic_version = STUB_BAD_MAGIC;
	if (f->wrong_type)
		hdr.msg_type += 1;
	memcpy(frame, &hdr, sizeof(hdr));
}

/*
 * Sleep @ms milliseconds, waking early when the stub shuts down.
 * Returns 0 after the full delay, -1 when shutting down.
 */
int stub_sleep_ms(struct stub *st, unsigned int ms)
{
	struct pollfd p = { .fd = st->stop_rd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, (int)ms);
	while (r < 0 && errno == EINTR);
	return r == 0 ? 0 : -1;
}
