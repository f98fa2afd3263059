/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x86 APIC IDs from a CPU topology: each level (thread, core, die, socket)
 * gets ceil(log2(count)) bits, so IDs have holes when a count is not a power
 * of two.  vCPU index i is thread i % threads, then core, die, socket.
 */
#ifndef UPCALL_TOPOLOGY_H
#define UPCALL_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct topology {
	unsigned int threads_per_core;
	unsigned int cores_per_die;
	unsigned int dies_per_socket;
	unsigned int sockets;
};

/* Bits a level with @count members takes: ceil(log2(count)). */
unsigned int topology_bits(unsigned int count);
/* vCPUs the topology holds. */
unsigned int topology_size(const struct topology *t);
/* APIC ID of vCPU @index, or -1 if it does not fit 8 bits. */
int topology_apic_id(const struct topology *t, unsigned int index);
/*
 * Check that the first @max vCPUs exist and have 8-bit APIC IDs.
 * Returns 0, or -1 with a message in @err.
 */
int topology_check(const struct topology *t, unsigned int max, char *err,
		   size_t errlen);
/* APIC IDs of vCPUs 0..max-1 into @ids (ascending). Topology must check. */
void topology_ids(const struct topology *t, unsigned int max, uint8_t *ids);

/*
 * Lowest @n IDs of @valid (ascending, @nvalid) not in @online.
 * Returns how many were found (less than @n when too few are free).
 */
unsigned int topology_pick_free(const uint8_t *valid, unsigned int nvalid,
				const uint8_t *online, unsigned int nonline,
				unsigned int n, uint8_t *out);
/*
 * Highest @n IDs of @online, highest first, never @boot_id.
 * Returns how many were found.
 */
unsigned int topology_pick_online(const uint8_t *online, unsigned int nonline,
				  uint8_t boot_id, unsigned int n, uint8_t *out);

#endif /* UPCALL_TOPOLOGY_H */
