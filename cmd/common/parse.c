// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Value parsers and formatters (numbers, sizes, ID lists, PCI addresses):
 * see parse.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

/* Decimal, or hexadecimal after 0x: never octal, so 010 is ten. */
static unsigned long long strtou_dec_hex(const char *s, char **end)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	return strtoull(s, end, hex ? 16 : 10);
}

int parse_u64(const char *s, uint64_t *v, char *err, size_t errlen)
{
	char *end;
	unsigned long long x;

	if (!s || *s < '0' || *s > '9') {
		snprintf(err, errlen, "\"%s\" is not a number", s ? s : "");
		return -1;
	}
	errno = 0;
	x = strtou_dec_hex(s, &end);
	if (errno == ERANGE) {
		snprintf(err, errlen, "\"%s\" does not fit 64 bits", s);
		return -1;
	}
	if (*end || end == s) {
		snprintf(err, errlen, "\"%s\" is not a number", s);
		return -1;
	}
	*v = x;
	return 0;
}

static int suffix_shift(const char *sfx)
{
	static const char units[] = "KMGTP";
	const char *u;

	if (!*sfx)
		return 0;
	u = strchr(units, (sfx[0] >= 'a' && sfx[0] <= 'z') ? sfx[0] - 32 : sfx[0]);
	if (!u || !*u)
		return -1;
	sfx++;
	if (*sfx && strcasecmp(sfx, "iB") && strcasecmp(sfx, "B"))
		return -1;
	return 10 * (int)(u - units + 1);
}

int parse_size(const char *s, uint64_t *v, char *err, size_t errlen)
{
	char *end;
	unsigned long long x;
	int shift;

	if (!s || *s < '0' || *s > '9') {
		snprintf(err, errlen, "\"%s\" is not a size (e.g. 128M, 1G, 0x8000000)",
			 s ? s : "");
		return -1;
	}
	errno = 0;
	x = strtou_dec_hex(s, &end);
	shift = errno ? -1 : suffix_shift(end);
	if (shift < 0) {
		snprintf(err, errlen, "\"%s\" is not a size (e.g. 128M, 1G, 0x8000000)", s);
		return -1;
	}
	if (shift && x > (UINT64_MAX >> shift)) {
		snprintf(err, errlen, "size \"%s\" does not fit 64 bits", s);
		return -1;
	}
	*v = (uint64_t)x << shift;
	return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max,
	       unsigned long *v, const char *what, char *err, size_t errlen)
{
	uint64_t x;

	if (parse_u64(s, &x, err, errlen) < 0)
		return -1;
	if (x < min || x > max) {
		snprintf(err, errlen, "%s %s out of range %lu..%lu", what, s, min, max);
		return -1;
	}
	*v = (unsigned long)x;
	return 0;
}

int parse_id_list(const char *s, uint8_t *ids, unsigned int max,
		  unsigned int *n, char *err, size_t errlen)
{
	uint8_t seen[256] = { 0 };
	char *copy = strdup(s), *tok, *save = NULL;
	int rc = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !rc;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned long id;

		if (parse_uint(tok, 0, 255, &id, "APIC ID", err, errlen) < 0) {
			rc = -1;
		} else if (seen[id]) {
			snprintf(err, errlen, "APIC ID %lu listed twice", id);
			rc = -1;
		} else if (*n >= max) {
			snprintf(err, errlen, "more than %u APIC IDs", max);
			rc = -1;
		} else {
			seen[id] = 1;
			ids[(*n)++] = (uint8_t)id;
		}
	}
	if (!rc && *n == 0) {
		snprintf(err, errlen, "empty APIC ID list \"%s\"", s);
		rc = -1;
	}
	free(copy);
	return rc;
}

static int hex_field(const char *s, size_t len, unsigned int max,
		     unsigned int *v)
{
	unsigned int x = 0;

	if (len == 0 || len > 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int d = (c >= '0' && c <= '9') ? c - '0' :
			(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		x = x * 16 + (unsigned int)d;
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* [0000:]BB:DD.F in hex, as lspci prints it; only PCI domain 0. */
int parse_pci_addr(const char *s, uint8_t *bus, uint8_t *devfn, char *err,
		   size_t errlen)
{
	const char *p = s, *c1, *dot;
	unsigned int b, d, f;

	if (strlen(s) == 12 && s[4] == ':') {
		unsigned int dom;

		if (hex_field(s, 4, 0xffff, &dom) < 0)
			goto bad;
		if (dom != 0) {
			snprintf(err, errlen, "PCI domain %04x is not reachable through upcall (only 0000)",
				 dom);
			return -1;
		}
		p = s + 5;
	}
	c1 = strchr(p, ':');
	dot = c1 ? strchr(c1, '.') : NULL;
	if (!c1 || !dot || hex_field(p, (size_t)(c1 - p), 0xff, &b) ||
	    hex_field(c1 + 1, (size_t)(dot - c1 - 1), 0x1f, &d) ||
	    hex_field(dot + 1, strlen(dot + 1), 7, &f))
		goto bad;
	*bus = (uint8_t)b;
	*devfn = (uint8_t)(d << 3 | f);
	return 0;
bad:
	snprintf(err, errlen,
		 "\"%s\" is not a PCI address BB:DD.F (bus 00-ff, device 00-1f, function 0-7)",
		 s);
	return -1;
}

void format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int i = -1;

	while (v && (v & 1023) == 0 && i < 4) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%" PRIu64 "%ciB", v, units[i]);
}

void format_id_list(const uint8_t *ids, unsigned int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
					i ? ", " : "", ids[i]);
}
