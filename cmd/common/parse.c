// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command-line value parsers (numbers, sizes, ID lists, PCI addresses) and
 * the argp steps built on them that several commands share.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

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

json_t *json_id_array(const uint8_t *ids, unsigned int n)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	return a;
}

/*
 * jansson's integers are signed 64-bit, so an address of 2^63 or more
 * would print as a negative number.  Such a value is held as the string
 * "\001u64:N" and written as the bare number N by json_dumps_u64().
 */
#define U64_MARK	"\001u64:"
#define U64_DUMPED	"\"\\u0001u64:"	/* how json_dumps() writes the mark */

json_t *json_u64(uint64_t v)
{
	char s[32];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(s, sizeof(s), U64_MARK "%" PRIu64, v);
	return json_string(s);
}

char *json_dumps_u64(const json_t *j, size_t flags)
{
	char *text = json_dumps(j, flags), *p = text;
	size_t ml = strlen(U64_DUMPED);

	while (p && (p = strstr(p, U64_DUMPED))) {
		char *digits = p + ml;
		size_t n = strspn(digits, "0123456789");

		if (n == 0 || digits[n] != '"') {
			p = digits;
			continue;
		}
		memmove(p, digits, n);
		memmove(p + n, digits + n + 1, strlen(digits + n + 1) + 1);
		p += n;
	}
	return text;
}

int json_dumpf_u64(const json_t *j, FILE *f, size_t flags)
{
	char *text = json_dumps_u64(j, flags);
	int rc = text && fputs(text, f) >= 0 ? 0 : -1;

	free(text);
	return rc;
}

/* A bare number of 2^63 or more becomes a mark, for json_dumps_u64(). */
static size_t load_number(const char *buf, size_t len, size_t i, char *out, size_t *o)
{
	size_t n = 0;
	char digits[24];
	uint64_t v;

	while (i + n < len && buf[i + n] >= '0' && buf[i + n] <= '9')
		n++;
	if (n < 19 || n > 20 || (i + n < len && strchr(".eE", buf[i + n])) ||
	    (i && strchr("-+.eE", buf[i - 1])))
		goto copy;
	memcpy(digits, buf + i, n);
	digits[n] = '\0';
	errno = 0;
	v = strtoull(digits, NULL, 10);
	if (errno || v <= INT64_MAX)
		goto copy;
	*o += (size_t)sprintf(out + *o, "\"%s%s\"", "\\u0001u64:", digits);
	return n;
copy:
	memcpy(out + *o, buf + i, n);
	*o += n;
	return n;
}

json_t *json_loadb_u64(const char *buf, size_t len, size_t flags)
{
	char *out = malloc(len + (len / 19 + 1) * 16 + 1);
	bool in_str = false;
	size_t o = 0, i = 0;
	json_t *j;

	if (!out)
		return NULL;
	while (i < len) {
		char c = buf[i];

		if (!in_str && c >= '0' && c <= '9') {
			i += load_number(buf, len, i, out, &o);
			continue;
		}
		out[o++] = c;
		i++;
		if (in_str && c == '\\' && i < len)
			out[o++] = buf[i++];
		else if (c == '"')
			in_str = !in_str;
	}
	j = json_loadb(out, o, flags, NULL);
	free(out);
	return j;
}

int json_u64_value(const json_t *j, uint64_t *v)
{
	const char *s = json_string_value(j);
	char *end;

	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		*v = (uint64_t)json_integer_value(j);
		return 0;
	}
	if (!s || strncmp(s, U64_MARK, strlen(U64_MARK)))
		return -1;
	errno = 0;
	*v = strtoull(s + strlen(U64_MARK), &end, 10);
	return errno || *end || end == s + strlen(U64_MARK) ? -1 : 0;
}

json_t *json_hex(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_string(buf);
}

void json_set_addr(json_t *o, const char *key, uint64_t v)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_hex", key);
	json_object_set_new(o, key, json_u64(v));
	json_object_set_new(o, k, json_hex(v));
}

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
