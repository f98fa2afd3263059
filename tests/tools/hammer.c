// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hammer: many clients, each on its own session and thread, drive one
 * guest at once and check that every reply answers the request that
 * caused it.  Client i owns APIC IDs 2i+1 and 2i+2 and PCI device 10:i
 * (device i/8, function i%8) and cycles through
 *
 *   ADD_CPU, QUERY_CPUS, ADD_PCI, DEL_CPU, QUERY_CPUS, DEL_PCI
 *
 * adding one or both of its IDs by turns.  No two consecutive requests
 * share a type, so a reply read one request late or early is caught by
 * its echoed type; each reply's ret and CPU index must be what this
 * client's own history predicts, and each QUERY_CPUS must show exactly the
 * client's IDs that it has online.  Exit 0 when all replies matched, 1 on
 * the first mismatch (one line per failing client), 64 on usage errors.
 * With --first F the clients are F, F+1, ...: runs with disjoint ranges
 * can share a guest.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <upcall/upcall.h>

#define PCI_BUS 0x10
#define CYCLE 6
#define MAX_CLIENTS 127		/* two APIC IDs each, 0 is the boot CPU's */

struct client {
	pthread_t tid;
	unsigned int index;
	struct upcall_session *s;
	unsigned long replies;
	char failure[600];
};

static struct upcall_target target;
static unsigned int nclients = 100, nrequests = 100, first;
static int timeout_ms = 10000;
static pthread_barrier_t start;

static int fail(struct client *c, unsigned int j, const char *fmt, const char *detail)
{
	static const char *const steps[CYCLE] = { "ADD_CPU", "QUERY_CPUS", "ADD_PCI",
						   "DEL_CPU", "QUERY_CPUS", "DEL_PCI" };

	snprintf(c->failure, sizeof(c->failure), "client %u, request %u (%s): %s%s%s",
		 c->index, j + 1, steps[j % CYCLE], fmt, detail ? ": " : "",
		 detail ? detail : "");
	return -1;
}

/* A typed request's reply: success, echoed type, and for CPUs the index. */
static int check_reply(struct client *c, unsigned int j, enum upcall_status st,
		       const struct upcall_reply *r, uint32_t type, unsigned int count)
{
	char buf[120];

	if (st != UPCALL_OK)
		return fail(c, j, upcall_status_name(st), upcall_errmsg(c->s));
	c->replies++;
	if (r->msg_type != type || r->ret != 0 || (count && r->cpu_index != count)) {
		snprintf(buf, sizeof(buf), "type %u ret %d index %u, expected type %u ret 0 index %u",
			 r->msg_type, r->ret, r->cpu_index, type, count);
		return fail(c, j, "reply does not match", buf);
	}
	return 0;
}

static int check_query(struct client *c, unsigned int j, const uint8_t *own,
		       unsigned int nown, bool online)
{
	struct upcall_id_list l;
	enum upcall_status st = upcall_query_cpus(c->s, &l);
	unsigned int seen = 0;
	char buf[80];

	if (st != UPCALL_OK)
		return fail(c, j, upcall_status_name(st), upcall_errmsg(c->s));
	c->replies++;
	for (unsigned int i = 0; i < l.count; i++)
		seen += l.ids[i] == 2 * c->index + 1 || l.ids[i] == 2 * c->index + 2;
	if (seen != (online ? nown : 0) ||
	    (online && (!memchr(l.ids, own[0], l.count) ||
			(nown == 2 && !memchr(l.ids, own[1], l.count))))) {
		snprintf(buf, sizeof(buf), "%u of this client's %u IDs listed, expected %u",
			 seen, nown, online ? nown : 0);
		return fail(c, j, "QUERY_CPUS does not match", buf);
	}
	return 0;
}

static int step(struct client *c, unsigned int j)
{
	struct upcall_cpu_request cpu = { .apic_ver = UPCALL_DEFAULT_APIC_VER };
	uint8_t devfn = (uint8_t)c->index;
	struct upcall_reply r;

	cpu.count = 1 + (j / CYCLE + c->index) % 2;
	cpu.apic_ids[0] = (uint8_t)(2 * c->index + 1);
	cpu.apic_ids[1] = (uint8_t)(2 * c->index + 2);
	switch (j % CYCLE) {
	case 0:
		return check_reply(c, j, upcall_add_cpu(c->s, &cpu, &r), &r,
				   UPCALL_MSG_ADD_CPU, cpu.count);
	case 1:
		return check_query(c, j, cpu.apic_ids, cpu.count, true);
	case 2:
		return check_reply(c, j, upcall_add_pci(c->s, PCI_BUS, devfn, &r), &r,
				   UPCALL_MSG_ADD_PCI, 0);
	case 3:
		return check_reply(c, j, upcall_del_cpu(c->s, &cpu, &r), &r,
				   UPCALL_MSG_DEL_CPU, cpu.count);
	case 4:
		return check_query(c, j, cpu.apic_ids, cpu.count, false);
	default:
		return check_reply(c, j, upcall_del_pci(c->s, PCI_BUS, devfn, &r), &r,
				   UPCALL_MSG_DEL_PCI, 0);
	}
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	enum upcall_status st = upcall_connect(c->s);

	pthread_barrier_wait(&start);
	if (st != UPCALL_OK) {
		fail(c, 0, upcall_status_name(st), upcall_errmsg(c->s));
		return NULL;
	}
	for (unsigned int j = 0; j < nrequests; j++)
		if (step(c, j) < 0)
			break;
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: hammer --vm PATH [-c CLIENTS] [-f FIRST] [-n REQUESTS] [-t MS]\n"
		"(clients FIRST..FIRST+CLIENTS-1, all below %d)\n", MAX_CLIENTS);
	exit(64);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm", required_argument, NULL, 'v' },
		{ "clients", required_argument, NULL, 'c' },
		{ "requests", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "first", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL;
	char err[256];
	int o;

	while ((o = getopt_long(argc, argv, "v:c:n:t:f:", opts, NULL)) != -1) {
		if (o == 'v')
			vm = optarg;
		else if (o == 'c')
			nclients = (unsigned int)strtoul(optarg, NULL, 10);
		else if (o == 'n')
			nrequests = (unsigned int)strtoul(optarg, NULL, 10);
		else if (o == 't')
			timeout_ms = atoi(optarg);
		else if (o == 'f')
			first = (unsigned int)strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (!vm || optind != argc || nclients < 1 || first + nclients > MAX_CLIENTS ||
	    nrequests < 1)
		usage();
	if (upcall_target_parse(vm, 0, &target, err, sizeof(err)) < 0) {
		fprintf(stderr, "hammer: %s\n", err);
		exit(64);
	}
}

int main(int argc, char **argv)
{
	struct client *cs;
	unsigned long total = 0;
	int failed = 0;

	parse_args(argc, argv);
	cs = calloc(nclients, sizeof(*cs));
	if (!cs || pthread_barrier_init(&start, NULL, nclients))
		return 71;
	for (unsigned int i = 0; i < nclients; i++) {
		cs[i].index = first + i;
		cs[i].s = upcall_session_new(&target);
		if (!cs[i].s)
			return 71;
		upcall_session_set_timeout(cs[i].s, timeout_ms);
		upcall_session_set_arch(cs[i].s, UPCALL_ARCH_X86_64);
		errno = pthread_create(&cs[i].tid, NULL, client_main, &cs[i]);
		if (errno) {
			perror("hammer: pthread_create");
			return 71;
		}
	}
	for (unsigned int i = 0; i < nclients; i++) {
		pthread_join(cs[i].tid, NULL);
		total += cs[i].replies;
		if (cs[i].failure[0]) {
			printf("hammer: %s\n", cs[i].failure);
			failed = 1;
		}
		upcall_session_free(cs[i].s);
	}
	pthread_barrier_destroy(&start);
	free(cs);
	printf("%u clients x %u requests: %lu replies, %s\n", nclients, nrequests, total,
	       failed ? "NOT all matched" : "each matched to its request");
	return failed || total != (unsigned long)nclients * nrequests;
}
