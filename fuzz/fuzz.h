/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the fuzz harnesses: each defines LLVMFuzzerTestOneInput and
 * aborts through FUZZ_CHECK when a property of the code under test breaks,
 * so libFuzzer (or fuzz/replay.c over a directory of inputs) reports it.
 */
#ifndef UPCALL_FUZZ_H
#define UPCALL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: property broken: %s: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

/* A diagnosis is one non-empty line. */
#define FUZZ_CHECK_MSG(msg)						\
	FUZZ_CHECK((msg)[0] && !strchr((msg), '\n'), "diagnosis \"%s\"", (msg))

/* The same, but a diagnosis that quotes @input has the lines it has. */
#define FUZZ_CHECK_MSG_QUOTING(msg, input)				\
	FUZZ_CHECK((msg)[0] && (!strchr((msg), '\n') || strchr((input), '\n')), \
		   "diagnosis \"%s\"", (msg))

#endif /* UPCALL_FUZZ_H */
