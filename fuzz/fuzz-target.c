// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What an operator types: the target spec (upcall_target_parse) and the
 * command-line value parsers.  Input: a selector byte, then the text.
 * Properties: every accepted value is in range and survives a round trip
 * through its formatter; every refusal is a one-line diagnosis (unless it
 * quotes an input that has several lines).
 */
#include <inttypes.h>

#include "fuzz.h"
#include "internal.h"
#include "../cmd/common/cli.h"

#define MAX_TEXT 512

static void fuzz_spec(const char *text, uint32_t default_port)
{
	struct upcall_target t, again;
	char err[256] = "", buf[UPCALL_PATH_MAX + 64];

	if (upcall_target_parse(text, default_port, &t, err, sizeof(err)) < 0) {
		FUZZ_CHECK_MSG_QUOTING(err, text);
		return;
	}
	FUZZ_CHECK(t.port >= 1 && t.port <= UPCALL_MAX_PORT, "port %u", t.port);
	if (t.transport == UPCALL_TRANSPORT_VSOCK)
		FUZZ_CHECK(t.cid != 0 && t.cid != 2 && t.cid != UINT32_MAX, "cid %u", t.cid);
	else
		FUZZ_CHECK(t.path[0] && strlen(t.path) < UPCALL_PATH_MAX, "path \"%s\"", t.path);

	upcall_target_format(&t, buf, sizeof(buf));
	FUZZ_CHECK(upcall_target_parse(buf, t.port, &again, err, sizeof(err)) == 0,
		   "\"%s\" formatted as \"%s\", which does not parse: %s", text, buf, err);
	FUZZ_CHECK(again.transport == t.transport && again.cid == t.cid &&
		   again.port == t.port && !strcmp(again.path, t.path),
		   "\"%s\" -> \"%s\" changed the target", text, buf);
}

static void fuzz_size(const char *text)
{
	char err[256] = "", buf[64];
	uint64_t v, again;

	if (parse_size(text, &v, err, sizeof(err)) < 0) {
		FUZZ_CHECK_MSG_QUOTING(err, text);
		return;
	}
	format_size(v, buf, sizeof(buf));
	FUZZ_CHECK(parse_size(buf, &again, err, sizeof(err)) == 0 && again == v,
		   "\"%s\" = %" PRIu64 " formatted as \"%s\"", text, v, buf);
}

static void fuzz_ids(const char *text)
{
	uint8_t ids[UPCALL_MAX_APIC_IDS], seen[UPCALL_MAX_APIC_IDS] = { 0 };
	char err[256] = "";
	unsigned int n, max = UPCALL_MAX_CPU_COUNT;

	if (parse_id_list(text, ids, max, &n, err, sizeof(err)) < 0) {
		FUZZ_CHECK_MSG_QUOTING(err, text);
		return;
	}
	FUZZ_CHECK(n >= 1 && n <= max, "%u IDs", n);
	for (unsigned int i = 0; i < n; i++) {
		FUZZ_CHECK(!seen[ids[i]], "ID %u twice in \"%s\"", ids[i], text);
		seen[ids[i]] = 1;
	}
}

static void fuzz_pci(const char *text)
{
	char err[256] = "", buf[32];
	uint8_t bus, devfn, bus2, devfn2;

	if (parse_pci_addr(text, &bus, &devfn, err, sizeof(err)) < 0) {
		FUZZ_CHECK_MSG_QUOTING(err, text);
		return;
	}
	snprintf(buf, sizeof(buf), "%02x:%02x.%x", bus, devfn >> 3, devfn & 7);
	FUZZ_CHECK(parse_pci_addr(buf, &bus2, &devfn2, err, sizeof(err)) == 0 &&
		   bus2 == bus && devfn2 == devfn, "\"%s\" -> \"%s\"", text, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[MAX_TEXT + 1];

	if (size < 1 || size - 1 > MAX_TEXT)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		/* default port 0 (the default), valid, or out of range */
		fuzz_spec(text, data[0] < 128 ? 0 : (uint32_t)data[0] * 9 - 1000);
		break;
	case 1:
		fuzz_size(text);
		break;
	case 2:
		fuzz_ids(text);
		break;
	default:
		fuzz_pci(text);
		break;
	}
	return 0;
}
