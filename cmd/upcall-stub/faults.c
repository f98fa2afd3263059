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

struct fault_def {
	const char *name;
	enum fault_arg arg;
	unsigned long min, max;
};

static const struct fault_def fault_defs[] = {
	{ "no-listener", ARG_NONE, 0, 0 },
	{ "no-connect-frame", ARG_NONE, 0, 0 },
	{ "bad-magic", ARG_NONE, 0, 0 },
	{ "wrong-type", ARG_NONE, 0, 0 },
	{ "no-reply", ARG_NONE, 0, 0 },
	{ "short-reply", ARG_NONE, 0, 0 },
	{ "close-mid-frame", ARG_NONE, 0, 0 },
	{ "garbage-ok", ARG_NONE, 0, 0 },
	{ "endless-ok", ARG_NONE, 0, 0 },
	{ "lie-index", ARG_NONE, 0, 0 },
	{ "errno", ARG_REQUIRED, 1, 4095 },
	{ "fail-cpu", ARG_REQUIRED, 1, UPCALL_MAX_CPU_COUNT },
	{ "slow-drip", ARG_OPTIONAL, 1, 60000 },
	{ "reply-after", ARG_REQUIRED, 1, 3600000 },
	{ "exit-after", ARG_REQUIRED, 1, ULONG_MAX },
};

static const struct fault_def *fault_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(fault_defs) / sizeof(fault_defs[0]); i++) {
		if (strlen(fault_defs[i].name) == len &&
		    memcmp(fault_defs[i].name, name, len) == 0)
			return &fault_defs[i];
	}
	return NULL;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -1;
	return 0;
}

static void fault_set_flag(struct stub_faults *f, const char *name)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{ "no-listener", offsetof(struct stub_faults, no_listener) },
		{ "no-connect-frame", offsetof(struct stub_faults, no_connect_frame) },
		{ "bad-magic", offsetof(struct stub_faults, bad_magic) },
		{ "wrong-type", offsetof(struct stub_faults, wrong_type) },
		{ "no-reply", offsetof(struct stub_faults, no_reply) },
		{ "short-reply", offsetof(struct stub_faults, short_reply) },
		{ "close-mid-frame", offsetof(struct stub_faults, close_mid_frame) },
		{ "garbage-ok", offsetof(struct stub_faults, garbage_ok) },
		{ "endless-ok", offsetof(struct stub_faults, endless_ok) },
		{ "lie-index", offsetof(struct stub_faults, lie_index) },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(flags[i].name, name) == 0)
			*(bool *)((char *)f + flags[i].off) = true;
	}
}

static void fault_set_value(struct stub_faults *f, const char *name, unsigned long v)
{
	if (strcmp(name, "errno") == 0)
		f->refuse_errno = (int)v;
	else if (strcmp(name, "fail-cpu") == 0)
		f->fail_cpu = (unsigned int)v;
	else if (strcmp(name, "slow-drip") == 0)
		f->slow_drip_ms = (unsigned int)v;
	else if (strcmp(name, "reply-after") == 0)
		f->reply_after_ms = (unsigned int)v;
	else if (strcmp(name, "exit-after") == 0)
		f->exit_after = v;
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
	if (eq && parse_ulong(eq + 1, d->min, d->max, &v) < 0) {
		snprintf(err, errlen, "fault '%s': '%s' is not a number in %lu..%lu",
			 d->name, eq + 1, d->min, d->max);
		return -1;
	}
	if (d->arg == ARG_NONE)
		fault_set_flag(f, d->name);
	else
		fault_set_value(f, d->name, v);
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
