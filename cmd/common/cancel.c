// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "cancel.h"

/* Process-wide by nature: signals are.  Written once, before any thread. */
static int pipefd[2] = { -1, -1 };

void cancel_raise(void)
{
	int saved = errno;
	ssize_t n;

	/* A full pipe is already readable: nothing is lost. */
	n = write(pipefd[1], "", 1);
	(void)n;
	errno = saved;
}

static void on_sigint(int sig)
{
	(void)sig;
	cancel_raise();
}

int cancel_setup(bool once)
{
	/* SA_RESTART: every wait that matters polls the pipe, and the rest
	 * of the program need not expect EINTR. */
	struct sigaction sa = {
		.sa_handler = on_sigint,
		.sa_flags = SA_RESTART | (once ? SA_RESETHAND : 0),
	};

	if (pipefd[0] < 0 && pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGINT, &sa, NULL) < 0 ? -errno : 0;
}

int cancel_fd(void)
{
	return pipefd[0];
}

bool cancel_sleep(int ms)
{
	struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };

	return poll(&pfd, 1, ms) <= 0 || !pfd.revents;
}

bool cancel_requested(void)
{
	return pipefd[0] >= 0 && !cancel_sleep(0);
}

void cancel_clear(void)
{
	char buf[64];

	while (pipefd[0] >= 0 && read(pipefd[0], buf, sizeof(buf)) > 0)
		;
}
