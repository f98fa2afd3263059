/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Minimal TAP producer for the C unit tests (tests/run-all counts TAP).
 * main() states its plan first (tap_plan): a test function that returns
 * early then leaves the run short of its plan, which fails it, instead of
 * silently lowering the count.
 */
#ifndef UPCALL_TAP_H
#define UPCALL_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned = -1;

static inline void tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

#define ok(cond, ...) do {						\
	int ok_ = !!(cond);						\
	printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n);		\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!ok_) {							\
		tap_failed++;						\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	}								\
} while (0)

#define is_int(got, want, ...) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

static inline void tap_hexdiff(const unsigned char *got,
			       const unsigned char *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i]) {
			printf("#   first difference at byte %zu: got %02x, want %02x\n",
			       i, got[i], want[i]);
			return;
		}
}

#define is_bytes(got, want, n, ...) do {				\
	int eq_ = memcmp((got), (want), (n)) == 0;			\
	ok(eq_, __VA_ARGS__);						\
	if (!eq_)							\
		tap_hexdiff((const unsigned char *)(got),		\
			    (const unsigned char *)(want), (n));	\
} while (0)

/* The exit status: 1 if a test failed or the run did not match its plan. */
static inline int tap_done(void)
{
	if (tap_planned < 0) {
		printf("not ok %d - no plan stated before the tests\n", ++tap_n);
		return 1;
	}
	if (tap_n != tap_planned) {
		printf("not ok %d - planned %d tests, ran %d\n", tap_n + 1, tap_planned, tap_n);
		return 1;
	}
	return tap_failed ? 1 : 0;
}

#endif
