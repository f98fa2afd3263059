// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One live line on stderr, redrawn by a thread of its own: "\r", the text
 * cut to the terminal's width (a wrapped line could not be taken back),
 * then "erase to the end of the line".  Whoever prints while it is shown
 * pauses it first, so results never share a line with it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"

#define FLEET_PERIOD_MS	250
#define WAIT_PERIOD_MS	1000
#define FIRST_DRAW_MS	1000	/* quick work shows no line at all */

struct running {
	const char *vm;
	uint64_t start;
};

struct progress {
	pthread_t thread;
	pthread_mutex_t lock;		/* guards everything below */
	pthread_cond_t wake;
	bool stop, shown, paused;
	int period_ms;
	uint64_t start;
	void (*describe)(struct progress *p, uint64_t now, char *buf, size_t len);
	/* a fleet run */
	unsigned int total, ok, failed, nrun;
	struct running *run;
	/* --wait */
	struct upcall_target target;
	char label[128];
	int wait_ms;
};

bool progress_wanted(const struct cli *cli)
{
	return cli->output == OUTPUT_TEXT && cli->err == stderr && isatty(STDERR_FILENO);
}

static void put(const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void clear_line(struct progress *p)
{
	if (p->shown)
		put("\r\033[K", 4);
	p->shown = false;
}

static void draw(struct progress *p)
{
	struct winsize ws;
	char text[512], line[520];
	size_t width = 80;
	uint64_t now = now_ns();
	int n;

	if (p->paused || now - p->start < (uint64_t)FIRST_DRAW_MS * 1000000u)
		return;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col;
	p->describe(p, now, text, sizeof(text));
	for (char *c = text; *c; c++)	/* names are printed, never obeyed */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	n = snprintf(line, sizeof(line), "\r%.*s\033[K", (int)(width - 1), text);
	if (n > 0)
		put(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	p->shown = true;
}

static void *ticker(void *data)
{
	struct progress *p = data;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec ts;

		draw(p);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)p->period_ms * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	clear_line(p);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct progress *start(struct progress *p)
{
	pthread_condattr_t attr;

	p->start = now_ns();
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&p->thread, NULL, ticker, p) == 0)
		return p;
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->run);
	free(p);
	return NULL;
}

void progress_end(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->run);
	free(p);
}

/* "7 done, 1 failed, 32 running, 60 left; slowest: web3 (4.2 s)" */
static void describe_fleet(struct progress *p, uint64_t now, char *buf, size_t len)
{
	unsigned int left = p->total - p->ok - p->failed - p->nrun;
	const struct running *slow = NULL;
	int n;

	for (unsigned int i = 0; i < p->nrun; i++)
		if (!slow || p->run[i].start < slow->start)
			slow = &p->run[i];
	n = snprintf(buf, len, "%u done, %u failed, %u running, %u left", p->ok, p->failed,
		     p->nrun, left);
	if (slow && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "; slowest: %s (%.1f s)", slow->vm,
			 (double)(now - slow->start) / 1e9);
}

struct progress *progress_fleet(const struct cli *cli, unsigned int total)
{
	struct progress *p;

	if (!progress_wanted(cli) || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->run = calloc(total ? total : 1, sizeof(*p->run));
	if (!p->run) {
		free(p);
		return NULL;
	}
	p->total = total;
	p->period_ms = FLEET_PERIOD_MS;
	p->describe = describe_fleet;
	return start(p);
}

void progress_vm_start(struct progress *p, const char *vm)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->nrun < p->total)
		p->run[p->nrun++] = (struct running){ vm, now_ns() };
	pthread_mutex_unlock(&p->lock);
}

void progress_vm_end(struct progress *p, const char *vm, bool ok)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	for (unsigned int i = 0; i < p->nrun; i++)
		if (p->run[i].vm == vm) {
			p->run[i] = p->run[--p->nrun];
			break;
		}
	if (ok)
		p->ok++;
	else
		p->failed++;
	pthread_mutex_unlock(&p->lock);
}

void progress_pause(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	clear_line(p);
	p->paused = true;
	pthread_mutex_unlock(&p->lock);
}

void progress_resume(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->paused = false;
	draw(p);
	pthread_mutex_unlock(&p->lock);
}

/* "waiting for web1: no socket at /run/web1.sock yet (4 s of 60 s)" */
static void describe_wait(struct progress *p, uint64_t now, char *buf, size_t len)
{
	const struct upcall_target *t = &p->target;
	unsigned int secs = (unsigned int)((now - p->start) / 1000000000u);
	char what[UPCALL_PATH_MAX + 64];
	struct stat st;

	if (t->transport != UPCALL_TRANSPORT_UNIX)
		snprintf(what, sizeof(what), "the guest does not answer yet");
	else if (stat(t->path, &st) < 0)
		snprintf(what, sizeof(what), "no socket at %s yet", t->path);
	else if (!S_ISSOCK(st.st_mode))
		snprintf(what, sizeof(what), "%s is not a socket (yet)", t->path);
	else
		snprintf(what, sizeof(what), "the VM or its guest does not answer yet");
	snprintf(buf, len, "waiting for %s: %s (%u s of %d s)", p->label, what, secs,
		 p->wait_ms / 1000);
}

struct progress *progress_wait(const struct cli *cli, const char *label,
			       const struct upcall_target *t)
{
	struct progress *p;

	if (!cli->wait_ms || !progress_wanted(cli) || !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->target = *t;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->wait_ms = cli->wait_ms;
	p->period_ms = WAIT_PERIOD_MS;
	p->describe = describe_wait;
	return start(p);
}
