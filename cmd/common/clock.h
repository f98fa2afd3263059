/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tools' one clock: monotonic, for deadlines and durations. */
#ifndef UPCALL_CLOCK_H
#define UPCALL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* UPCALL_CLOCK_H */
