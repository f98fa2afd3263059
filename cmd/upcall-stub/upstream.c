/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub --upstream: answer as the upstream (Dragonball) guest upcall
 * server does, with what it was seen to reply:
 *  - types it does not serve (memory, queries): ret -1, msg_size 0;
 *  - CPU requests one CPU at a time; the first failure ends the request,
 *    the CPUs before it stay done, and the reply has msg_size 0 (the
 *    apic_index is filled in on success only);
 *  - ADD_CPU of an online CPU or with no spare possible CPU, DEL_CPU of the
 *    boot CPU or of an offline one: -EINVAL;
 *  - a second ADD_MMIO of the same window -EEXIST; any other window that
 *    overlaps none is accepted, device behind it or not; DEL_MMIO and
 *    DEL_PCI of nothing -ENODEV.
 */
#include <errno.h>
#include <string.h>

#include "stub.h"

static bool upstream_serves(__u32 type)
{
	switch (type) {
	case UPCALL_MSG_ADD_CPU:
	case UPCALL_MSG_DEL_CPU:
	case UPCALL_MSG_ADD_MMIO:
	case UPCALL_MSG_DEL_MMIO:
	case UPCALL_MSG_ADD_PCI:
	case UPCALL_MSG_DEL_PCI:
		return true;
	}
	return false;
}

bool stub_upstream_unknown(const struct stub *st, const struct upcall_msg_header *h)
{
	return st->cfg.upstream && h->magic_version == UPCALL_MAGIC_VERSION &&
	       !upstream_serves(h->msg_type);
}

/* One CPU of an x86_64 request; 0 or a negative errno. */
static int cpu_one(struct stub *st, bool add, __u8 id, unsigned int pos)
{
	bool *online = st->state.cpu_online;

	if (add && (id >= st->cfg.max_vcpus || online[id]))
		return -EINVAL;
	if (!add && (id == 0 || !online[id]))
		return -EINVAL;
	if (st->cfg.faults.fail_cpu == pos + 1)
		return -EIO;
	if (add && !st->state.vcpu_made[id]) {
		pthread_mutex_unlock(&st->lock);
		stub_sleep_ms(st, st->cfg.missing_vcpu_ms);
		pthread_mutex_lock(&st->lock);
		return -EIO;
	}
	online[id] = add;
	return 0;
}

/* x86_64 ADD_CPU/DEL_CPU; *@index is what a success reply carries. */
int stub_upstream_cpu(struct stub *st, bool add, const struct upcall_cpu_x86 *c,
		      __u32 *index)
{
	int ret;

	for (unsigned int i = 0; i < c->count; i++)
		if ((ret = cpu_one(st, add, c->apic_ids[i], i)))
			return ret;
	*index = c->count;
	return 0;
}

int stub_upstream_mmio_add(struct stub_state *s, const struct upcall_mmio *m)
{
	for (unsigned int i = 0; i < s->nmmio; i++)
		if (s->mmio[i].base == m->base && s->mmio[i].size == m->size)
			return -EEXIST;
	return 1;	/* the default checks decide */
}
