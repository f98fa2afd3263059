// SPDX-License-Identifier: GPL-2.0-or-later
/* Hex dump of frames with the header decoded (-v, shell "debug on"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static void hex_words(FILE *out, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(out, "%s%02x", (i && i % 4 == 0) ? " " : "", p[i]);
}

void dump_frame(FILE *out, bool tx, const uint8_t *f, size_t len)
{
	const char *dir = tx ? ">>" : "<<";
	uint32_t magic = le32_at(f), size = le32_at(f + 4), type = le32_at(f + 8);
	size_t end = len;
	char name[32];

	fprintf(out, "%s ", dir);
	hex_words(out, f, 16);
	fprintf(out, " | magic %s, size %" PRIu32 ", %s",
		magic == UPCALL_MAGIC_VERSION ? "ok" : "BAD", size,
		upcall_msg_type_name(type, name, sizeof(name)));
	if (!tx && type != UPCALL_MSG_CONNECT)
		fprintf(out, ", ret %" PRId32, (int32_t)le32_at(f + 16));
	fputc('\n', out);

	/*
	 * The rest in whole 4-byte words, 16 bytes a line, up to the last
	 * non-zero byte; runs of zero lines are counted, not printed.
	 */
	while (end > 16 && f[end - 1] == 0)
		end--;
	end = (end + 3) & ~(size_t)3;
	for (size_t off = 16; off < end; off += 16) {
		size_t n = end - off < 16 ? end - off : 16, zeros = 0;

		while (off + zeros + 16 <= end && is_zero(f + off + zeros, 16))
			zeros += 16;
		if (zeros > 16) {
			fprintf(out, "%s (%zu zero bytes)%*s | +%zu\n", dir, zeros,
				(int)(35 - 12 - snprintf(NULL, 0, "%zu", zeros)), "", off);
			off += zeros - 16;
			continue;
		}
		fprintf(out, "%s ", dir);
		hex_words(out, f + off, n);
		fprintf(out, "%*s | +%zu\n", (int)(35 - (2 * n + (n - 1) / 4)), "", off);
	}
	if (end < len)
		fprintf(out, "%s (%zu zero bytes to %zu)\n", dir, len - (end > 16 ? end : 16), len);
	fflush(out);
}

void dump_frame_hook(void *data, bool tx, const uint8_t *frame, size_t len)
{
	dump_frame(data ? data : stderr, tx, frame, len);
}
