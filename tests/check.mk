# Reliability targets, included by the Makefile: the concurrency hammer,
# fuzz harnesses (replayed by every build, fuzzed with libFuzzer by
# `make fuzz`), the sanitizer run (`make check-san`) and `make check`.

# ---- tests/tools: helpers the bats suites run, built with every build
HAMMER := $(B)/tests/hammer
all: $(HAMMER)
$(HAMMER): tests/tools/hammer.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread -o $@ $< $(STLIB) $(LDFLAGS)
# Many VMs from one thread through the event-loop API (evloop.bats).
EVLOOP := $(B)/tests/evloop
all: $(EVLOOP)
$(EVLOOP): tests/tools/evloop.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(LDFLAGS)

# ---- memcheck replaces malloc only in a dynamic binary: with STATIC=1 the
# valgrind suite runs these, the same objects linked shared.
ifeq ($(STATIC),1)
all: $(TOOLS:%=$(B)/tests/dynamic/%)
define dynamic_rule
$(B)/tests/dynamic/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard cmd/$(1)/*.c)) $(COMMON_OBJ) $(STLIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $(DEP_LIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call dynamic_rule,$(t))))
endif

# ---- fuzz harnesses: what each links besides libupcall
FUZZ_NAMES := $(basename $(notdir $(wildcard fuzz/fuzz-*.c)))
COMMON_SRC := $(wildcard cmd/common/*.c)
FUZZ_SRC_fuzz-reply :=
FUZZ_SRC_fuzz-okline :=
FUZZ_SRC_fuzz-target := $(COMMON_SRC)
FUZZ_SRC_fuzz-inventory := $(COMMON_SRC)
FUZZ_SRC_fuzz-state := $(filter-out cmd/common/state.c,$(COMMON_SRC))	# compiled in
FUZZ_SRC_fuzz-request := $(addprefix cmd/upcall-stub/,devmgr.c faults.c state.c upstream.c)
FUZZ_SRC_fuzz-qmp := $(filter-out cmd/common/qmp.c,$(COMMON_SRC))	# compiled in
FUZZ_LIBS := $(TOOL_LIBS) -pthread
# what harnesses #include, for the replay builds' dependencies
FUZZ_INCLUDED := cmd/common/state.c cmd/common/qmp.c $(wildcard cmd/common/*.h cmd/upcall-stub/*.h lib/*.h include/upcall/*.h)

# Every build replays each harness over fuzz/corpus/ and fuzz/regressions/
# as a unit test ($(B)/tests/test-fuzz-*), under ASan too with SAN=1.
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(B)/tests/test-%)
all: $(FUZZ_REPLAY)
define fuzz_replay_rule
$(B)/tests/test-$(1): fuzz/$(1).c fuzz/replay.c fuzz/fuzz.h $(FUZZ_INCLUDED) $(patsubst %.c,$(B)/%.o,$(FUZZ_SRC_$(1))) $(INTLIB)
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CFLAGS) -Ilib -DFUZZ_NAME='"$(1)"' -o $$@ fuzz/$(1).c fuzz/replay.c \
		$(patsubst %.c,$(B)/%.o,$(FUZZ_SRC_$(1))) $(INTLIB) $$(LDFLAGS) $(FUZZ_LIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_replay_rule,$(f))))

# ---- libFuzzer builds (clang) in build-fuzz/
FZ := build-fuzz
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-fsanitize=fuzzer-no-link,address,undefined
FUZZ_BIN := $(FUZZ_NAMES:%=$(FZ)/%)

$(FZ)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(CPPFLAGS) -Ilib $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

define fuzz_bin_rule
$(FZ)/$(1): $(FZ)/fuzz/$(1).o $(patsubst %.c,$(FZ)/%.o,$(FUZZ_SRC_$(1)) $(LIB_SRC))
	$$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $$@ $$^ $(FUZZ_LIBS)
endef
$(foreach f,$(FUZZ_NAMES),$(eval $(call fuzz_bin_rule,$(f))))

fuzz-build: $(FUZZ_BIN)

# Each harness for FUZZ_TIME seconds; ends with "N passed, N failed".
fuzz: fuzz-build
	@FZ=$(FZ) FUZZ_TIME=$(FUZZ_TIME) fuzz/run $(FUZZ_NAMES)

# ---- the whole suite under ASan + UBSan, but for the QEMU guest tier
# (it tests the kernel module), the packaging suites (they build and link
# their own programs, which cannot load an ASan library) and the tests
# tagged valgrind (it cannot share a process with ASan; make test runs them)
SAN_LOGS := $(CURDIR)/build-san/san-logs
SAN_SKIP_BATS := tests/bats/guest% tests/bats/debian.bats tests/bats/install.bats
check-san: deps-test
	@$(MAKE) --no-print-directory SAN=1 all
	@rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS)
	@B=build-san SAN_LOGS=$(SAN_LOGS) \
		BATS_FILES="$(filter-out $(SAN_SKIP_BATS),$(wildcard tests/bats/*.bats))" \
		BATS_ARGS="--filter-tags !valgrind" \
		ASAN_OPTIONS=detect_leaks=1:log_path=$(SAN_LOGS)/asan \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$(SAN_LOGS)/ubsan \
		tests/run-all

# test + check-san + fuzz, totalled on the last line.
check: deps-test
	@MAKE="$(MAKE)" tests/check-all

clean: clean-fuzz
clean-fuzz:
	rm -rf $(FZ)

.PHONY: fuzz fuzz-build check-san check clean-fuzz

-include $(shell find $(FZ) -name '*.d' 2>/dev/null)

# ---- the layers of cmd/common/ (cmd/common/README.md): each unit test
# links only its layer and those below it, never the CLI (cli.o,
# cli-fleet.o, hotplug.o, progress.o), so a call upward fails the build.
LAYER_INVENTORY_OBJ := $(addprefix $(B)/cmd/common/,error.o parse.o topology.o inventory.o)
LAYER_STATE_OBJ := $(LAYER_INVENTORY_OBJ) $(B)/cmd/common/cancel.o
$(B)/tests/test-inventory: tests/unit/test-inventory.c tests/unit/tap.h $(wildcard cmd/common/*.h) $(LAYER_INVENTORY_OBJ) $(INTLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< $(LAYER_INVENTORY_OBJ) $(INTLIB) $(LDFLAGS) -ljansson -lyaml
LAYER_FLEET_OBJ := $(LAYER_STATE_OBJ) $(B)/cmd/common/fleet.o
$(B)/tests/test-fleet: tests/unit/test-fleet.c tests/unit/tap.h $(wildcard cmd/common/*.h) $(LAYER_FLEET_OBJ) $(INTLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< $(LAYER_FLEET_OBJ) $(INTLIB) $(LDFLAGS) -ljansson -lyaml -pthread
# test-state compiles state.c in (its helpers are static)
$(B)/tests/test-state: tests/unit/test-state.c tests/unit/tap.h cmd/common/state.c $(wildcard cmd/common/*.h) $(LAYER_STATE_OBJ) $(INTLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< $(LAYER_STATE_OBJ) $(INTLIB) $(LDFLAGS) -ljansson -lyaml -pthread
