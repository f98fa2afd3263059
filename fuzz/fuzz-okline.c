// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMM's "OK <port>\n" line.  Property: upcall_parse_ok_line accepts
 * exactly "OK ", one or more decimal digits with a value below 2^32, and a
 * final LF, and returns that value; everything else is refused.
 */
#include "fuzz.h"
#include "internal.h"

/* The same grammar, written differently. */
static int reference(const uint8_t *s, size_t len, uint64_t *v)
{
	size_t digits = 0;

	*v = 0;
	if (len < 4 || memcmp(s, "OK ", 3) || s[len - 1] != '\n')
		return -1;
	for (size_t i = 3; i + 1 < len; i++, digits++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
		if (*v > UINT32_MAX)
			*v = (uint64_t)UINT32_MAX + 1;	/* saturate: refused below */
	}
	return digits > 0 && *v <= UINT32_MAX ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t port = 0xdeadbeef;
	uint64_t want;
	int rc, ref;

	if (size > 4 * UPCALL_OK_LINE_MAX)
		return 0;
	rc = upcall_parse_ok_line((const char *)data, size, &port);
	ref = reference(data, size, &want);
	FUZZ_CHECK(rc == ref, "parser says %d, grammar says %d", rc, ref);
	if (rc == 0)
		FUZZ_CHECK(port == want, "port %u, expected %llu", port,
			   (unsigned long long)want);
	else
		FUZZ_CHECK(port == 0xdeadbeef, "port written on refusal");
	return 0;
}
