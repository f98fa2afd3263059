// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Request validation, as the guest module and the stub apply it
 * (upcall_check_request in wire.h), and the stub's device manager behind
 * it (stub_handle_frame) over a sequence of requests.
 *
 * Input: four configuration bytes (arch, limits, faults), then requests.
 * Each request starts with a control byte: odd means "well-formed header
 * for the type named by the next byte", even means "raw 16-byte header";
 * payload bytes follow, as many as the input has (at most the payload).
 *
 * Properties: a request passes the checks only if it is well-formed; every
 * reply echoes its request's type, fits a frame and is accepted by the
 * library's decoder; CPU replies never claim more than was asked; the
 * emulated guest keeps at least one CPU online and its memory and MMIO
 * windows sorted and apart; QUERY_CPUS answers what is online.
 */
#include "fuzz.h"
#include "internal.h"
#include "../cmd/upcall-stub/stub.h"

static const uint32_t types[] = {
	UPCALL_MSG_CONNECT, UPCALL_MSG_ADD_CPU, UPCALL_MSG_DEL_CPU,
	UPCALL_MSG_ADD_MEM, UPCALL_MSG_DEL_MEM, UPCALL_MSG_ADD_MMIO,
	UPCALL_MSG_DEL_MMIO, UPCALL_MSG_ADD_PCI, UPCALL_MSG_DEL_PCI,
	UPCALL_MSG_QUERY_CPUS, UPCALL_MSG_QUERY_MEM, 9,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static struct stub st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pthread_mutex_init(&st.lock, NULL);
	return 0;
}

static void configure(const uint8_t *c)
{
	struct stub_config *cfg = &st.cfg;

	memset(cfg, 0, sizeof(*cfg));
	memset(&st.state, 0, sizeof(st.state));
	st.listen_fd = st.stop_rd = st.stop_wr = -1;
	cfg->arch = c[0] & 1 ? STUB_ARCH_AARCH64 : STUB_ARCH_X86_64;
	cfg->no_query = c[0] & 2;
	cfg->block_size = 4096ULL << (c[0] >> 2 & 15);
	cfg->max_vcpus = c[1] + 1U;
	cfg->boot_vcpus = c[2] % cfg->max_vcpus + 1U;
	cfg->faults.fail_cpu = c[3] & 7;	/* 0: off */
	cfg->faults.refuse_errno = c[3] & 8 ? 16 : 0;
	stub_state_init(&st);
}

static void check_request(const struct upcall_msg_header *h, const uint8_t *payload)
{
	for (int arm64 = 0; arm64 < 2; arm64++) {
		int ret = upcall_check_request(h, payload, arm64);
		int want = upcall_req_payload_size(h->msg_type, arm64);

		if (ret)
			continue;
		FUZZ_CHECK(h->magic_version == UPCALL_MAGIC_VERSION && h->msg_flags == 0 &&
			   h->msg_type != UPCALL_MSG_CONNECT && want >= 0 &&
			   h->msg_size == (uint32_t)want, "malformed header passed");
		if (h->msg_type == UPCALL_MSG_ADD_CPU || h->msg_type == UPCALL_MSG_DEL_CPU)
			FUZZ_CHECK(payload[0] != 0, "CPU count 0 passed");
	}
}

/* Build the next request frame from the input; bytes consumed, or 0. */
static size_t next_frame(const uint8_t *d, size_t n, uint8_t *frame)
{
	struct upcall_msg_header h = { UPCALL_MAGIC_VERSION, 0, 0, 0 };
	size_t used = 2, want;
	int size;

	memset(frame, 0, UPCALL_FRAME_SIZE);
	if (n < 2)
		return 0;
	if (d[0] & 1) {
		h.msg_type = types[d[1] % NTYPES];
		size = upcall_req_payload_size(h.msg_type, st.cfg.arch == STUB_ARCH_AARCH64);
		h.msg_size = size > 0 ? (uint32_t)size : 0;
	} else {
		if (n < 17)
			return 0;
		memcpy(&h, d + 1, sizeof(h));
		used = 17;
	}
	memcpy(frame, &h, sizeof(h));
	want = h.msg_size < UPCALL_REQ_PAYLOAD_MAX ? h.msg_size : UPCALL_REQ_PAYLOAD_MAX;
	if (want > n - used)
		want = n - used;
	memcpy(frame + UPCALL_HDR_SIZE, d + used, want);
	return used + want;
}

static unsigned int online(void)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++)
		k += st.state.cpu_online[i];
	return k;
}

static void check_guest(void)
{
	const struct stub_state *s = &st.state;

	FUZZ_CHECK(online() >= 1, "no CPU left online");
	FUZZ_CHECK(s->nmem <= UPCALL_MAX_MEM_RANGES && s->nmmio <= STUB_MAX_MMIO, "too many ranges");
	for (unsigned int i = 1; i < s->nmem; i++)
		FUZZ_CHECK(s->mem[i - 1].base + s->mem[i - 1].size <= s->mem[i].base,
			   "memory ranges %u, %u", i - 1, i);
	for (unsigned int i = 1; i < s->nmmio; i++)
		FUZZ_CHECK(s->mmio[i - 1].base + s->mmio[i - 1].size <= s->mmio[i].base,
			   "MMIO windows %u, %u", i - 1, i);
}

static void check_reply(const uint8_t *req, const uint8_t *frame)
{
	struct upcall_msg_header h;
	struct upcall_reply r;
	struct upcall_id_list cpus;
	char err[UPCALL_ERRMSG_MAX] = "";
	unsigned int count = 0;
	int ok;

	memcpy(&h, req, sizeof(h));
	if ((h.msg_type == UPCALL_MSG_ADD_CPU || h.msg_type == UPCALL_MSG_DEL_CPU) &&
	    st.cfg.arch == STUB_ARCH_X86_64)
		count = req[UPCALL_HDR_SIZE];
	ok = upcall_decode_reply(frame, h.msg_type, count, &r, err, sizeof(err)) == UPCALL_OK;
	FUZZ_CHECK(ok, "the library refuses the stub's reply to type %u: %s", h.msg_type, err);
	if (r.ret == 0 && count)
		FUZZ_CHECK(r.cpu_index == count, "success after %u of %u CPUs", r.cpu_index, count);
	if (h.msg_type == UPCALL_MSG_QUERY_CPUS && r.ret == 0 &&
	    h.magic_version == UPCALL_MAGIC_VERSION) {
		FUZZ_CHECK(upcall_decode_cpu_list(&r, &cpus, err, sizeof(err)) == UPCALL_OK &&
			   cpus.count == online(), "QUERY_CPUS: %s", err);
		for (unsigned int i = 0; i < cpus.count; i++)
			FUZZ_CHECK(st.state.cpu_online[cpus.ids[i]], "ID %u listed, not online",
				   cpus.ids[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t req[UPCALL_FRAME_SIZE], reply[UPCALL_FRAME_SIZE];
	size_t used;

	if (size < 4)
		return 0;
	configure(data);
	data += 4;
	size -= 4;
	while ((used = next_frame(data, size, req)) > 0) {
		struct upcall_msg_header h;

		memcpy(&h, req, sizeof(h));
		check_request(&h, req + UPCALL_HDR_SIZE);
		stub_handle_frame(&st, req, reply);
		check_reply(req, reply);
		check_guest();
		data += used;
		size -= used;
	}
	return 0;
}
