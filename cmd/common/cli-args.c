// SPDX-License-Identifier: GPL-2.0-or-later
/* The argp steps that commands of several binaries share (cli.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

error_t parse_count_key(int key, const char *arg, struct argp_state *state,
			unsigned int *count)
{
	unsigned long v = 0;	/* argp_error returns under ARGP_NO_EXIT */
	char err[160];

	switch (key) {
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			return ARGP_ERR_UNKNOWN;
		if (parse_uint(arg, 1, UPCALL_MAX_CPU_COUNT, &v, "vCPU count", err, sizeof(err)))
			argp_error(state, "%s", err);
		*count = (unsigned int)v;
		return 0;
	case ARGP_KEY_END:
		if (!*count)
			argp_error(state, "missing vCPU count N");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/*
 * "128": a decimal size without a unit, under a page, is almost surely
 * megabytes meant; no memory block is that small.  0x... is explicit.
 */
static bool bare_bytes(const char *arg, uint64_t v)
{
	return v && v < 4096 && arg[strspn(arg, "0123456789")] == '\0';
}

error_t parse_range_key(int key, const char *arg, struct argp_state *state,
			struct range_arg *r)
{
	char err[160];

	switch (key) {
	case OPT_RANGE_BASE:
		if (parse_size(arg, &r->base, err, sizeof(err)))
			argp_error(state, "--base: %s", err);
		r->have_base = true;
		return 0;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			return ARGP_ERR_UNKNOWN;
		if (parse_size(arg, &r->size, err, sizeof(err)))
			argp_error(state, "%s", err);
		else if (bare_bytes(arg, r->size))
			argp_error(state, "SIZE %s is %s bytes, less than a page; did you mean %sM?",
				   arg, arg, arg);
		r->have_size = true;
		return 0;
	case ARGP_KEY_END:
		if (!r->have_size)
			argp_error(state, "missing SIZE");
		if (r->size == 0)
			argp_error(state, "SIZE must not be zero");
		if (r->have_base && r->base + r->size < r->base)
			argp_error(state, "range 0x%" PRIx64 "+0x%" PRIx64 " overflows 64 bits",
				   r->base, r->size);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}
