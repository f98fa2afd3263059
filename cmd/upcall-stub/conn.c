/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * upcall-stub: one thread per accepted connection.  The main thread reaps
 * finished threads, and at shutdown wakes (shutdown(2)) and joins them all.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, accept4, pipe2 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stub.h"

struct stub_conn {
	struct stub *st;
	pthread_t tid;
	int fd;			/* -1 once the thread closed it (under st->lock) */
	bool qmp;		/* a QMP client, not an upcall one */
	bool done;
	struct stub_conn *next;
};

static void *conn_main(void *arg)
{
	struct stub_conn *c = arg;
	struct stub *st = c->st;

	if (c->qmp)
		stub_qmp_serve(st, c->fd);
	else
		stub_serve(st, c->fd);
	pthread_mutex_lock(&st->lock);
	close(c->fd);
	c->fd = -1;
	c->done = true;
	pthread_mutex_unlock(&st->lock);
	stub_log(st, "connection closed\n");
	return NULL;
}

/* Serve @fd on a new thread; takes ownership of @fd.  0 or -1. */
int stub_conn_start(struct stub *st, int fd, bool qmp)
{
	struct stub_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		close(fd);
		return -1;
	}
	*c = (struct stub_conn){ .st = st, .fd = fd, .qmp = qmp };
	pthread_mutex_lock(&st->lock);
	err = pthread_create(&c->tid, NULL, conn_main, c);
	if (!err) {
		c->next = st->conns;
		st->conns = c;
	}
	pthread_mutex_unlock(&st->lock);
	if (err) {
		fprintf(stderr, "upcall-stub: cannot start a thread: %s\n", strerror(err));
		close(fd);
		free(c);
		return -1;
	}
	return 0;
}

/* Unlink from the list the connections to join: finished ones, or all. */
static struct stub_conn *conn_take(struct stub *st, bool all)
{
	struct stub_conn **pp = &st->conns, *taken = NULL;

	pthread_mutex_lock(&st->lock);
	while (*pp) {
		struct stub_conn *c = *pp;

		if (!all && !c->done) {
			pp = &c->next;
			continue;
		}
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		*pp = c->next;
		c->next = taken;
		taken = c;
	}
	pthread_mutex_unlock(&st->lock);
	return taken;
}

/* Join finished connection threads; with @all, end and join every one. */
void stub_conn_reap(struct stub *st, bool all)
{
	struct stub_conn *c = conn_take(st, all);

	while (c) {
		struct stub_conn *next = c->next;

		pthread_join(c->tid, NULL);
		free(c);
		c = next;
	}
}
