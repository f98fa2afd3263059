// SPDX-License-Identifier: GPL-2.0-or-later
/* APIC IDs from topology, against hand-worked tables. */
#include "../../cmd/common/topology.c"
#include "tap.h"

static void test_bits(void)
{
	is_int(topology_bits(1), 0, "1 member takes 0 bits");
	is_int(topology_bits(2), 1, "2 members take 1 bit");
	is_int(topology_bits(3), 2, "3 members take 2 bits");
	is_int(topology_bits(4), 2, "4 members take 2 bits");
	is_int(topology_bits(5), 3, "5 members take 3 bits");
}

static void test_tables(void)
{
	/* 2 threads (1 bit) x 3 cores (2 bits) x 2 sockets: socket at bit 3 */
	static const uint8_t t2c3s2[] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13 };
	/* 3 threads (2 bits) x 2 cores: thread 3 of a core does not exist */
	static const uint8_t t3c2[] = { 0, 1, 2, 4, 5, 6 };
	/* 1 thread x 3 cores x 2 dies (die at bit 2) x 2 sockets (bit 3) */
	static const uint8_t c3d2s2[] = { 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14 };
	struct topology a = { 2, 3, 1, 2 }, b = { 3, 2, 1, 1 }, c = { 1, 3, 2, 2 };
	uint8_t ids[16];
	char err[200];

	topology_ids(&a, 12, ids);
	is_bytes(ids, t2c3s2, sizeof(t2c3s2), "2 threads x 3 cores x 2 sockets");
	topology_ids(&b, 6, ids);
	is_bytes(ids, t3c2, sizeof(t3c2), "3 threads x 2 cores");
	topology_ids(&c, 12, ids);
	is_bytes(ids, c3d2s2, sizeof(c3d2s2), "3 cores x 2 dies x 2 sockets");
	is_int(topology_check(&a, 12, err, sizeof(err)), 0, "max 12 fits 2x3x2");
	is_int(topology_check(&a, 13, err, sizeof(err)), -1, "max 13 does not fit 2x3x2");
	ok(strstr(err, "exceeds the topology's 12 vCPUs") != NULL, "the error says why: %s", err);
}

static void test_wide(void)
{
	struct topology t = { 1, 200, 1, 2 };	/* 8 core bits: socket 1 is ID 256 */
	char err[200];

	is_int(topology_apic_id(&t, 199), 199, "core 199 of socket 0 is ID 199");
	is_int(topology_apic_id(&t, 200), -1, "socket 1 needs a ninth bit");
	is_int(topology_check(&t, 201, err, sizeof(err)), -1, "an ID above 255 is refused");
}

static void test_pick(void)
{
	static const uint8_t valid[] = { 0, 1, 2, 4, 5, 6 };
	static const uint8_t online[] = { 0, 2, 5 };
	uint8_t out[8];

	is_int(topology_pick_free(valid, 6, online, 3, 2, out), 2, "two free IDs found");
	is_bytes(out, ((uint8_t[]){ 1, 4 }), 2, "the lowest free IDs, in order");
	is_int(topology_pick_free(valid, 6, online, 3, 4, out), 3, "only three are free");
	is_int(topology_pick_online(online, 3, 0, 2, out), 2, "two online IDs found");
	is_bytes(out, ((uint8_t[]){ 5, 2 }), 2, "the highest online first");
	is_int(topology_pick_online(online, 3, 0, 3, out), 2, "never the boot CPU");
}

int main(void)
{
	tap_plan(20);
	test_bits();
	test_tables();
	test_wide();
	test_pick();
	return tap_done();
}
