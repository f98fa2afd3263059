// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The QMP client over anything a VMM could say.  The input is the VMM's
 * side of a socket pair, written whole and then shut, so the client reads
 * it and then an end of file; it negotiates, makes vCPUs for APIC IDs 1
 * and 2, lists the DIMMs and makes one of 128 MiB.  qmp.c is compiled in,
 * for its handshake on a socket it did not connect itself.
 *
 * Properties: every call ends with a status the tools know and, on
 * failure, a one-line diagnosis; vCPUs reported are ascending and include
 * every ID asked for; DIMMs are sorted, non-empty and
 * apart; a DIMM made has the size asked for and the tools' id.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "../cmd/common/qmp.c"

static void check_status(const struct vmm *v, enum upcall_status st)
{
	FUZZ_CHECK(st == UPCALL_OK || st == UPCALL_ERR_GUEST || st == UPCALL_ERR_INVALID ||
		   st == UPCALL_ERR_UNREACHABLE || st == UPCALL_ERR_PROTOCOL, "status %d", st);
	if (st)
		FUZZ_CHECK_MSG(v->err);
}

static void check_vcpus(const uint8_t *ids, unsigned int n, const uint8_t *have,
			unsigned int nhave)
{
	for (unsigned int i = 1; i < nhave; i++)
		FUZZ_CHECK(have[i - 1] < have[i], "vCPUs not ascending at %u", i);
	for (unsigned int i = 0; i < n; i++)
		FUZZ_CHECK(memchr(have, ids[i], nhave), "APIC ID %u asked for, not there", ids[i]);
}

static void check_dimms(const struct vmm_dimm *d, unsigned int n)
{
	FUZZ_CHECK(n <= VMM_MAX_DIMMS, "%u DIMMs", n);
	for (unsigned int i = 0; i < n; i++) {
		FUZZ_CHECK(d[i].size && d[i].base + d[i].size > d[i].base &&
			   memchr(d[i].id, 0, sizeof(d[i].id)), "DIMM %u", i);
		if (i)
			FUZZ_CHECK(d[i - 1].base + d[i - 1].size <= d[i].base,
				   "DIMMs %u and %u unsorted or overlapping", i - 1, i);
	}
}

static void session(struct vmm *v)
{
	static const uint8_t ids[] = { 1, 2 };
	static struct vmm_dimm d[VMM_MAX_DIMMS];
	uint8_t have[UPCALL_MAX_APIC_IDS];
	bool created[2] = { false, false };
	unsigned int nhave = 0, nd = 0;
	struct vmm_dimm made;
	enum upcall_status st;

	st = handshake(v, now_ms() + (uint64_t)v->timeout_ms);
	check_status(v, st);
	if (st)
		return;
	st = qmp_add_vcpus(v, ids, 2, created, have, &nhave);
	check_status(v, st);
	if (!st)
		check_vcpus(ids, 2, have, nhave);
	st = qmp_list_dimms(v, d, &nd);
	check_status(v, st);
	if (!st)
		check_dimms(d, nd);
	memset(&made, 0, sizeof(made));
	st = qmp_add_dimm(v, 128 << 20, false, 0, &made);
	check_status(v, st);
	if (!st)
		FUZZ_CHECK(made.size == 128 << 20 && made.ours, "DIMM made: %s 0x%llx", made.id,
			   (unsigned long long)made.size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm v;
	int sv[2];

	if (size > 64 * 1024 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	/* the client's commands must fit the buffer: nobody reads them */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
	if (write(sv[1], data, size) != (ssize_t)size || shutdown(sv[1], SHUT_WR) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	vmm_init(&v, VMM_QMP, "/fuzz/qmp.sock", 1000, -1, NULL);
	v.fd = sv[0];
	fcntl(v.fd, F_SETFL, O_NONBLOCK);
	session(&v);
	vmm_close(&v);
	close(sv[1]);
	return 0;
}
