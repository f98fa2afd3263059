// SPDX-License-Identifier: GPL-2.0-or-later
/* JSON values: see json.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

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

/* The length of the UTF-8 sequence at @p that jansson accepts, or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 :
		   *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0;	/* overlong, surrogate, above U+10FFFF */
	return n;
}

json_t *json_text(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	char *buf, *o;

	if (j || !s || !(buf = malloc(strlen(s) * 3 + 1)))
		return j;
	o = buf;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);

		if (n) {
			memcpy(o, p, n);
			p += n;
			o += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			p++;
			o += 3;
		}
	}
	*o = '\0';
	j = json_string(buf);
	free(buf);
	return j;
}
