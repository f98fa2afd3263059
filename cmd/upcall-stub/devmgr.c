/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: the guest's device-manager service.  One request frame in,
 * one reply frame out; the emulated state lives in struct stub_state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stub.h"

/* A request, copied out of its frame into aligned storage. */
struct request {
	struct upcall_msg_header hdr;
	union {
		__u8 raw[UPCALL_REQ_PAYLOAD_MAX];
		struct upcall_cpu_x86 cpu;
		struct upcall_mem mem;
		struct upcall_mmio mmio;
		struct upcall_pci pci;
		struct upcall_list_req list;
	} p;
};

/* A reply being built: ret, payload, and what the state file's last: shows. */
struct reply {
	__s32 ret;
	__u32 size;
	union {
		__u8 raw[UPCALL_REPLY_PAYLOAD_MAX];
		struct upcall_cpu_reply cpu;
		struct upcall_cpu_list cpus;
		struct upcall_mem_list mem;
		struct upcall_mmio_list mmio;
		struct upcall_pci_list pci;
	} p;
	bool cpu_reply;		/* a CPU handler answered: index is meaningful */
	bool no_index;		/* --upstream: a failure reply without the index */
};

const char *stub_type_name(__u32 type, char *buf, size_t len)
{
	const char *name = upcall_msg_name(type);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "TYPE_0x%x", type);
	return buf;
}

void stub_pci_set(struct stub_state *s, unsigned int bus, unsigned int devfn, bool present)
{
	unsigned int slot = (bus << 8) | devfn;

	if (present)
		s->pci_present[slot / 8] |= (__u8)(1U << (slot % 8));
	else
		s->pci_present[slot / 8] &= (__u8)~(1U << (slot % 8));
}

bool stub_pci_get(const struct stub_state *s, unsigned int bus, unsigned int devfn)
{
	unsigned int slot = (bus << 8) | devfn;

	return s->pci_present[slot / 8] & (1U << (slot % 8));
}

/*
 * Boot CPUs online; PCI devices from --pci were set while parsing.  The
 * VMM has a vCPU for the IDs --vmm-vcpus names, else for every possible
 * one, or with --qmp for the boot CPUs (QEMU's -smp B,maxcpus=M).
 */
void stub_state_init(struct stub *st)
{
	const struct stub_config *c = &st->cfg;

	for (unsigned int i = 0; i < c->boot_vcpus; i++)
		st->state.cpu_online[i] = true;
	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++)
		st->state.vcpu_made[i] = c->vmm_vcpus_set ? c->vmm_vcpus[i] :
					 i < (c->qmp_path ? c->boot_vcpus : c->max_vcpus);
	st->state.next_host_port = STUB_FIRST_HOST_PORT;
}

static unsigned int cpus_online(const struct stub_state *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++)
		n += s->cpu_online[i];
	return n;
}

/* fail-cpu=N, stop-cpu=N: does handling the CPU at 0-based position @i fail? */
static bool cpu_fails(const struct stub *st, unsigned int i)
{
	return st->cfg.faults.fail_cpu == i + 1 || st->cfg.faults.stop_cpu == i + 1;
}

/*
 * A possible CPU whose vCPU the VMM never made: the guest waits for it to
 * start, in vain, and fails it with -EIO.  Other connections (QMP's too)
 * go on meanwhile, as they would with a real guest.
 */
static int missing_vcpu(struct stub *st)
{
	pthread_mutex_unlock(&st->lock);
	stub_sleep_ms(st, st->cfg.missing_vcpu_ms);
	pthread_mutex_lock(&st->lock);
	return -EIO;
}

/* x86_64 ADD_CPU: whole request refused if any ID is online or >= max. */
static int cpu_add_x86(struct stub *st, const struct upcall_cpu_x86 *c, __u32 *index)
{
	for (unsigned int i = 0; i < c->count; i++) {
		__u8 id = c->apic_ids[i];

		if (id >= st->cfg.max_vcpus || st->state.cpu_online[id])
			return -EINVAL;
	}
	for (unsigned int i = 0; i < c->count; i++) {
		if (cpu_fails(st, i))
			return -EIO;
		if (!st->state.vcpu_made[c->apic_ids[i]])
			return missing_vcpu(st);
		st->state.cpu_online[c->apic_ids[i]] = true;
		*index = i + 1;
	}
	return 0;
}

/* x86_64 DEL_CPU: never all CPUs, never APIC ID 0, only online ones. */
static int cpu_del_x86(struct stub *st, const struct upcall_cpu_x86 *c, __u32 *index)
{
	if (c->count >= cpus_online(&st->state))
		return -EINVAL;
	for (unsigned int i = 0; i < c->count; i++) {
		__u8 id = c->apic_ids[i];

		if (id == 0 || !st->state.cpu_online[id])
			return -EINVAL;
	}
	for (unsigned int i = 0; i < c->count; i++) {
		if (cpu_fails(st, i))
			return -EIO;
		st->state.cpu_online[c->apic_ids[i]] = false;
		*index = i + 1;
	}
	return 0;
}

/*
 * aarch64: CPU ids 0..n-1 are online; add onlines n, n+1, ...; del offlines
 * from the top.  The reply's cpu_id is the first id above the online range
 * afterwards: for add, the id after the last one onlined; for del, the
 * lowest id taken offline.
 */
static int cpu_add_arm64(struct stub *st, unsigned int count, __u32 *cpu_id)
{
	unsigned int n = cpus_online(&st->state);

	*cpu_id = n;
	if (n + count > st->cfg.max_vcpus)
		return -EINVAL;
	for (unsigned int i = 0; i < count; i++) {
		if (cpu_fails(st, i))
			return -EIO;
		st->state.cpu_online[n + i] = true;
		*cpu_id = n + i + 1;
	}
	return 0;
}

static int cpu_del_arm64(struct stub *st, unsigned int count, __u32 *cpu_id)
{
	unsigned int n = cpus_online(&st->state);

	*cpu_id = n;
	if (count >= n)
		return -EINVAL;
	for (unsigned int i = 0; i < count; i++) {
		if (cpu_fails(st, i))
			return -EIO;
		st->state.cpu_online[n - 1 - i] = false;
		*cpu_id = n - 1 - i;
	}
	return 0;
}

static void handle_cpu(struct stub *st, const struct request *rq, struct reply *rp)
{
	bool add = rq->hdr.msg_type == UPCALL_MSG_ADD_CPU;
	const struct upcall_cpu_x86 *c = &rq->p.cpu;
	__u32 index = 0;

	if (st->cfg.faults.refuse_errno)
		rp->ret = -st->cfg.faults.refuse_errno;
	else if (st->cfg.arch == STUB_ARCH_AARCH64 && add)
		rp->ret = cpu_add_arm64(st, c->count, &index);
	else if (st->cfg.arch == STUB_ARCH_AARCH64)
		rp->ret = cpu_del_arm64(st, c->count, &index);
	else if (st->cfg.upstream)
		rp->ret = stub_upstream_cpu(st, add, c, &index);
	else if (add)
		rp->ret = cpu_add_x86(st, c, &index);
	else
		rp->ret = cpu_del_x86(st, c, &index);
	if (rp->ret == -EIO && st->cfg.faults.stop_cpu && !st->cfg.faults.refuse_errno)
		rp->ret = 0;	/* stop-cpu: a partial result without an error */
	if (st->cfg.faults.lie_index)
		index = c->count + 1U;
	rp->p.cpu.apic_index = index;
	rp->size = sizeof(rp->p.cpu);
	rp->cpu_reply = true;
	/* upstream fills the index in on success only */
	rp->no_index = (st->cfg.upstream || st->cfg.faults.no_index) && rp->ret != 0;
}

static bool ranges_overlap(__u64 b1, __u64 s1, __u64 b2, __u64 s2)
{
	return b1 < b2 + s2 && b2 < b1 + s1;
}

static int mem_add(struct stub_state *s, const struct upcall_mem *m)
{
	unsigned int pos = 0;

	for (unsigned int i = 0; i < s->nmem; i++) {
		if (ranges_overlap(m->base, m->size, s->mem[i].base, s->mem[i].size))
			return -EEXIST;
		if (s->mem[i].base < m->base)
			pos = i + 1;
	}
	if (s->nmem >= UPCALL_MAX_MEM_RANGES)
		return -ENOSPC;
	memmove(&s->mem[pos + 1], &s->mem[pos], (s->nmem - pos) * sizeof(s->mem[0]));
	s->mem[pos] = *m;
	s->nmem++;
	return 0;
}

static int mem_del(struct stub_state *s, const struct upcall_mem *m)
{
	for (unsigned int i = 0; i < s->nmem; i++) {
		if (s->mem[i].base == m->base && s->mem[i].size == m->size) {
			memmove(&s->mem[i], &s->mem[i + 1],
				(s->nmem - i - 1) * sizeof(s->mem[0]));
			s->nmem--;
			return 0;
		}
	}
	return -ENOENT;
}

static int handle_mem(struct stub *st, const struct request *rq)
{
	const struct upcall_mem *m = &rq->p.mem;
	__u64 bs = st->cfg.block_size;

	if (st->cfg.faults.refuse_errno)
		return -st->cfg.faults.refuse_errno;
	if (m->base % bs || m->size % bs)
		return -EINVAL;
	if (rq->hdr.msg_type == UPCALL_MSG_ADD_MEM)
		return mem_add(&st->state, m);
	return mem_del(&st->state, m);
}

static int mmio_add(struct stub_state *s, const struct upcall_mmio *m)
{
	unsigned int pos = 0;

	for (unsigned int i = 0; i < s->nmmio; i++) {
		const struct stub_mmio *w = &s->mmio[i];

		if (ranges_overlap(m->base, m->size, w->base, w->size) || w->irq == m->irq)
			return -EBUSY;
		if (w->base < m->base)
			pos = i + 1;
	}
	if (s->nmmio >= STUB_MAX_MMIO)
		return -ENOSPC;
	memmove(&s->mmio[pos + 1], &s->mmio[pos], (s->nmmio - pos) * sizeof(s->mmio[0]));
	s->mmio[pos] = (struct stub_mmio){ m->base, m->size, m->irq };
	s->nmmio++;
	return 0;
}

static int mmio_del(struct stub_state *s, const struct upcall_mmio *m)
{
	for (unsigned int i = 0; i < s->nmmio; i++) {
		const struct stub_mmio *w = &s->mmio[i];

		if (w->base == m->base && w->size == m->size && w->irq == m->irq) {
			memmove(&s->mmio[i], &s->mmio[i + 1],
				(s->nmmio - i - 1) * sizeof(s->mmio[0]));
			s->nmmio--;
			return 0;
		}
	}
	return -ENOENT;
}

static int handle_mmio(struct stub *st, const struct request *rq)
{
	int ret;

	if (st->cfg.faults.refuse_errno)
		return -st->cfg.faults.refuse_errno;
	if (rq->hdr.msg_type == UPCALL_MSG_ADD_MMIO && st->cfg.upstream &&
	    (ret = stub_upstream_mmio_add(&st->state, &rq->p.mmio)) <= 0)
		return ret;
	if (rq->hdr.msg_type == UPCALL_MSG_ADD_MMIO)
		return mmio_add(&st->state, &rq->p.mmio);
	ret = mmio_del(&st->state, &rq->p.mmio);
	return ret == -ENOENT && st->cfg.upstream ? -ENODEV : ret;
}

/* ADD_PCI rescans: the device is (again) present.  DEL_PCI removes it. */
static int handle_pci(struct stub *st, const struct request *rq)
{
	const struct upcall_pci *p = &rq->p.pci;
	bool add = rq->hdr.msg_type == UPCALL_MSG_ADD_PCI;

	if (st->cfg.faults.refuse_errno)
		return -st->cfg.faults.refuse_errno;
	unsigned int slot = (unsigned int)p->busno << 8 | p->devfn;

	if (!add && !stub_pci_get(&st->state, p->busno, p->devfn))
		return -ENODEV;
	/* A rescan brings in what was not there; what was stays as it was. */
	if (add && !stub_pci_get(&st->state, p->busno, p->devfn))
		st->state.pci_added[slot / 8] |= (__u8)(1U << (slot % 8));
	if (!add)
		st->state.pci_added[slot / 8] &= (__u8)~(1U << (slot % 8));
	stub_pci_set(&st->state, p->busno, p->devfn, add);
	return 0;
}

static void handle_query_cpus(const struct stub *st, struct reply *rp)
{
	struct upcall_cpu_list *l = &rp->p.cpus;

	for (unsigned int i = 0; i < STUB_MAX_CPUS; i++) {
		if (st->state.cpu_online[i])
			l->ids[l->count++] = (__u8)i;
	}
	rp->size = sizeof(*l);
}

static void handle_query_mem(const struct stub *st, struct reply *rp)
{
	struct upcall_mem_list *l = &rp->p.mem;

	l->count = st->state.nmem;
	memcpy(l->ranges, st->state.mem, st->state.nmem * sizeof(l->ranges[0]));
	rp->size = (__u32)(offsetof(struct upcall_mem_list, ranges) +
			   st->state.nmem * sizeof(l->ranges[0]));
}

/* A page of @total entries of @esize from @src, asked from @start. */
static void list_page(struct upcall_list_head *h, void *entries, const void *src,
		      __u32 total, __u32 start, __u32 max, size_t esize)
{
	h->total = total;
	h->start = start;
	h->tag = upcall_list_tag(UPCALL_LIST_TAG_INIT, src, (__u32)(total * esize));
	if (start < total)
		h->count = total - start < max ? total - start : max;
	memcpy(entries, (const __u8 *)src + start * esize, h->count * esize);
}

static void handle_query_mmio(const struct stub *st, const struct request *rq,
			      struct reply *rp)
{
	struct upcall_mmio all[STUB_MAX_MMIO];
	struct upcall_mmio_list *l = &rp->p.mmio;
	__u32 n = st->state.nmmio;

	memset(all, 0, sizeof(all));
	for (__u32 i = 0; i < n; i++) {
		all[i].base = st->state.mmio[i].base;
		all[i].size = st->state.mmio[i].size;
		all[i].irq = st->state.mmio[i].irq;
	}
	list_page(&l->head, l->entries, all, n, rq->p.list.start, UPCALL_MAX_MMIO_ENTRIES,
		  sizeof(all[0]));
	rp->size = (__u32)(sizeof(l->head) + l->head.count * sizeof(all[0]));
}

static void handle_query_pci(const struct stub *st, const struct request *rq,
			     struct reply *rp)
{
	static struct upcall_pci_entry all[STUB_PCI_SLOTS];	/* under stub.lock */
	struct upcall_pci_list *l = &rp->p.pci;
	__u32 n = 0;

	for (unsigned int slot = 0; slot < STUB_PCI_SLOTS; slot++) {
		if (!stub_pci_get(&st->state, slot >> 8, slot & 0xff))
			continue;
		all[n] = (struct upcall_pci_entry){
			.bus = (__u8)(slot >> 8), .devfn = (__u8)slot,
			.vendor = STUB_PCI_VENDOR, .device = STUB_PCI_DEVICE,
			.class_code = STUB_PCI_CLASS,
			.flags = st->state.pci_added[slot / 8] & (1U << (slot % 8)) ?
				 UPCALL_PCI_ADDED : 0,
		};
		n++;
	}
	list_page(&l->head, l->entries, all, n, rq->p.list.start, UPCALL_MAX_PCI_ENTRIES,
		  sizeof(all[0]));
	rp->size = (__u32)(sizeof(l->head) + l->head.count * sizeof(all[0]));
}

static bool is_query(__u32 type)
{
	return type == UPCALL_MSG_QUERY_CPUS || type == UPCALL_MSG_QUERY_MEM ||
	       type == UPCALL_MSG_QUERY_MMIO || type == UPCALL_MSG_QUERY_PCI;
}

/* Dispatch a request that passed upcall_check_request(). */
static void dispatch(struct stub *st, const struct request *rq, struct reply *rp)
{
	switch (rq->hdr.msg_type) {
	case UPCALL_MSG_ADD_CPU:
	case UPCALL_MSG_DEL_CPU:
		handle_cpu(st, rq, rp);
		break;
	case UPCALL_MSG_ADD_MEM:
	case UPCALL_MSG_DEL_MEM:
		rp->ret = handle_mem(st, rq);
		break;
	case UPCALL_MSG_ADD_MMIO:
	case UPCALL_MSG_DEL_MMIO:
		rp->ret = handle_mmio(st, rq);
		break;
	case UPCALL_MSG_ADD_PCI:
	case UPCALL_MSG_DEL_PCI:
		rp->ret = handle_pci(st, rq);
		break;
	case UPCALL_MSG_QUERY_CPUS:
		handle_query_cpus(st, rp);
		break;
	case UPCALL_MSG_QUERY_MEM:
		handle_query_mem(st, rp);
		break;
	case UPCALL_MSG_QUERY_MMIO:
		handle_query_mmio(st, rq, rp);
		break;
	case UPCALL_MSG_QUERY_PCI:
		handle_query_pci(st, rq, rp);
		break;
	default:
		rp->ret = -EOPNOTSUPP;
		break;
	}
}

static void process(struct stub *st, const struct request *rq, struct reply *rp)
{
	int arm64 = st->cfg.arch == STUB_ARCH_AARCH64;

	if ((rq->hdr.magic_version == UPCALL_MAGIC_VERSION && st->cfg.no_query &&
	     is_query(rq->hdr.msg_type)) || stub_upstream_unknown(st, &rq->hdr)) {
		rp->ret = -1;	/* what an upstream guest says to an unknown type */
		return;
	}
	rp->ret = upcall_check_request(&rq->hdr, rq->p.raw, arm64);
	if (rp->ret == 0)
		dispatch(st, rq, rp);
}

/* snprintf at *@pos into @buf, never past its end. */
static void __attribute__((format(printf, 4, 5)))
appendf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

/* last: TYPE ret=R [index=I] size=S [ids=a,b | count=N] */
static void record_last(struct stub *st, const struct request *rq, const struct reply *rp)
{
	char *buf = st->state.last, name[32];
	size_t len = sizeof(st->state.last), pos = 0;

	appendf(buf, len, &pos, "%s ret=%d",
		stub_type_name(rq->hdr.msg_type, name, sizeof(name)), rp->ret);
	if (rp->cpu_reply && !rp->no_index)
		appendf(buf, len, &pos, " index=%u", rp->p.cpu.apic_index);
	appendf(buf, len, &pos, " size=%u", rq->hdr.msg_size);
	if (!rp->cpu_reply)
		return;
	if (st->cfg.arch == STUB_ARCH_AARCH64) {
		appendf(buf, len, &pos, " count=%u", rq->p.cpu.count);
		return;
	}
	appendf(buf, len, &pos, " ids=");
	for (unsigned int i = 0; i < rq->p.cpu.count; i++)
		appendf(buf, len, &pos, "%s%u", i ? "," : "", rq->p.cpu.apic_ids[i]);
}

static void build_reply(const struct request *rq, const struct reply *rp, __u8 *frame)
{
	struct upcall_reply_head head = {
		.hdr = {
			.magic_version = UPCALL_MAGIC_VERSION,
			.msg_size = rp->ret == 0 || (rp->cpu_reply && !rp->no_index) ?
				    rp->size : 0,
			.msg_type = rq->hdr.msg_type,
		},
		.ret = rp->ret,
	};

	memset(frame, 0, UPCALL_FRAME_SIZE);
	memcpy(frame, &head, sizeof(head));
	memcpy(frame + sizeof(head), rp->p.raw, head.hdr.msg_size);
}

/*
 * Handle one received request frame: count it, apply it to the state,
 * rewrite the state file, build the reply in @reply (UPCALL_FRAME_SIZE
 * bytes).  exit-after=N ends the process here, before any reply.
 */
void stub_handle_frame(struct stub *st, const __u8 *req, __u8 *reply)
{
	struct request rq_buf, *rq = &rq_buf;
	struct reply rp_buf = { 0 }, *rp = &rp_buf;

	memcpy(&rq->hdr, req, sizeof(rq->hdr));
	memcpy(rq->p.raw, req + sizeof(rq->hdr), sizeof(rq->p.raw));

	pthread_mutex_lock(&st->lock);
	st->state.requests++;
	if (st->cfg.faults.exit_after && st->state.requests == st->cfg.faults.exit_after)
		_exit(STUB_EXIT_OK);
	process(st, rq, rp);
	record_last(st, rq, rp);
	stub_state_write(st);
	stub_log(st, "request %lu: %s\n", st->state.requests, st->state.last);
	pthread_mutex_unlock(&st->lock);

	build_reply(rq, rp, reply);
	stub_fault_mangle_reply(&st->cfg.faults, reply);
}
