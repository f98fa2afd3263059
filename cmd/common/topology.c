// SPDX-License-Identifier: GPL-2.0-or-later
/* APIC IDs from a CPU topology, and which vCPUs to add or remove. */
#include <stdio.h>
#include <string.h>

#include "topology.h"

unsigned int topology_bits(unsigned int count)
{
	unsigned int bits = 0;

	while (count > 1 && (1U << bits) < count)
		bits++;
	return bits;
}

unsigned int topology_size(const struct topology *t)
{
	unsigned long n = (unsigned long)t->threads_per_core * t->cores_per_die *
			  t->dies_per_socket * t->sockets;

	return n > 65536 ? 65536 : (unsigned int)n;
}

int topology_apic_id(const struct topology *t, unsigned int index)
{
	unsigned int tb = topology_bits(t->threads_per_core);
	unsigned int cb = topology_bits(t->cores_per_die);
	unsigned int db = topology_bits(t->dies_per_socket);
	unsigned int thread = index % t->threads_per_core;
	unsigned int core = index / t->threads_per_core % t->cores_per_die;
	unsigned int die = index / t->threads_per_core / t->cores_per_die %
			   t->dies_per_socket;
	unsigned int socket = index / t->threads_per_core / t->cores_per_die /
			      t->dies_per_socket;
	unsigned long id;

	if (tb + cb + db > 8)
		return -1;
	id = thread | core << tb | die << (tb + cb) | (unsigned long)socket << (tb + cb + db);
	return id > 255 ? -1 : (int)id;
}

int topology_check(const struct topology *t, unsigned int max, char *err,
		   size_t errlen)
{
	int last;

	if (!t->threads_per_core || !t->cores_per_die || !t->dies_per_socket ||
	    !t->sockets) {
		snprintf(err, errlen, "every topology level needs a count of at least 1");
		return -1;
	}
	if (max > topology_size(t)) {
		snprintf(err, errlen,
			 "max_vcpu_count %u exceeds the topology's %u vCPUs (%u threads x %u cores x %u dies x %u sockets)",
			 max, topology_size(t), t->threads_per_core, t->cores_per_die,
			 t->dies_per_socket, t->sockets);
		return -1;
	}
	last = max ? topology_apic_id(t, max - 1) : 0;
	if (last < 0) {
		snprintf(err, errlen, "vCPU %u of this topology has an APIC ID above 255", max - 1);
		return -1;
	}
	return 0;
}

void topology_ids(const struct topology *t, unsigned int max, uint8_t *ids)
{
	for (unsigned int i = 0; i < max; i++)
		ids[i] = (uint8_t)topology_apic_id(t, i);
}

static bool has_id(const uint8_t *ids, unsigned int n, uint8_t id)
{
	return memchr(ids, id, n) != NULL;
}

unsigned int topology_pick_free(const uint8_t *valid, unsigned int nvalid,
				const uint8_t *online, unsigned int nonline,
				unsigned int n, uint8_t *out)
{
	unsigned int got = 0;

	for (unsigned int i = 0; i < nvalid && got < n; i++)
		if (!has_id(online, nonline, valid[i]))
			out[got++] = valid[i];
	return got;
}

unsigned int topology_pick_online(const uint8_t *online, unsigned int nonline,
				  uint8_t boot_id, unsigned int n, uint8_t *out)
{
	unsigned int got = 0;

	for (int id = 255; id >= 0 && got < n; id--)
		if (id != boot_id && has_id(online, nonline, (uint8_t)id))
			out[got++] = (uint8_t)id;
	return got;
}
