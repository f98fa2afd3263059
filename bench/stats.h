/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Timing helpers shared by the benchmark programs (header-only). */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts @v; the value at fraction @q (0.5: the median). */
static inline uint64_t quantile(uint64_t *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

#endif /* BENCH_STATS_H */
