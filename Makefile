# upcall-tools: libupcall, the tools, the guest stub, tests.
VERSION := 0.2.0
SOVERSION := 0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
# Where bash-completion looks, as its pkg-config file says, under our PREFIX.
BASHCOMPDIR ?= $(or $(shell pkg-config --define-variable=datadir=$(PREFIX)/share \
	--variable=completionsdir bash-completion 2>/dev/null),$(PREFIX)/share/bash-completion/completions)
# zsh's directory for completions that packages ship.
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
# The Ansible collection upcall.tools: /usr/share/ansible/collections is in
# Ansible's default collections path; another PREFIX needs it added there.
ANSIBLEDIR ?= $(PREFIX)/share/ansible/collections
ANSIBLE_COLL = $(DESTDIR)$(ANSIBLEDIR)/ansible_collections/upcall/tools
ANSIBLE_FILES := $(shell find ansible -type f \( -name '*.py' -o -name '*.yml' -o -name '*.md' \) \
	! -path '*/__pycache__/*' 2>/dev/null)
# DKMS builds modules from /usr/src/NAME-VERSION whatever the PREFIX.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' guest-driver/dkms.conf)
DKMSDIR = $(DESTDIR)/usr/src/upcall-guest-$(DKMS_VERSION)
DESTDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
# SAN=1 builds everything with AddressSanitizer and UBSan into build-san/.
ifeq ($(SAN),1)
B ?= build-san
CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
B ?= build
endif

WARN := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE -Iinclude -DUPCALL_VERSION='"$(VERSION)"' \
	-DUPCALL_TOOLS_VERSION='"$(VERSION)"'
ALL_CFLAGS = $(WARN) $(CPPFLAGS) $(CFLAGS)

LIB_SRC := $(wildcard lib/*.c)
LIB_PIC := $(LIB_SRC:%.c=$(B)/%.pic.o)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
COMMON_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/common/*.c))
# Every cmd/<tool>/ but common/ and upcall-stub/ is a tool built from its
# own sources plus cmd/common/.
TOOLS := $(filter-out common upcall-stub,$(notdir $(wildcard cmd/*)))
STUB_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard cmd/upcall-stub/*.c))
UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

SONAME := libupcall.so.$(SOVERSION)
SHLIB := $(B)/libupcall.so.$(VERSION)
STLIB := $(B)/libupcall.a
INTLIB := $(B)/tests/libupcall-internal.a
# The tools are linked statically (STATIC=1): one file to copy into a VM
# host image, and a one-shot command does not pay for the dynamic loader,
# which was about a third of its time (bench/README.md).  STATIC=0 links
# glibc, jansson, libyaml and readline shared, as distributions do; so do
# sanitizer builds, which cannot be static.
STATIC ?= $(if $(filter 1,$(SAN)),0,1)
DEP_LIBS := -ljansson -lyaml -lreadline
TOOL_LIBS := $(DEP_LIBS)
ifeq ($(STATIC),1)
TOOL_LDFLAGS := -static
TOOL_LIBS += -ltinfo
# readline's ~user expansion and user-name completion (the shell) use
# glibc's own getpwnam() and friends, NSS included: glibc reads the local
# files itself and loads other NSS modules (LDAP, sssd, systemd) from the
# host's glibc when they are asked for, which is why ld says that a static
# program needs "the shared libraries from the glibc version used for
# linking" at run time.  That notice, and only it, is dropped.
LD_FILTER := 2>$$@.ld; rc=$$$$?; awk '/: in function `/ { held = $$$$0; next } \
	/in statically linked applications requires at runtime/ { held = ""; next } \
	{ if (held != "") print held; held = ""; print } END { if (held != "") print held }' \
	$$@.ld >&2; rm -f $$@.ld; exit $$$$rc
endif
PROGS := $(TOOLS:%=$(B)/%) $(B)/upcall-stub

all: $(SHLIB) $(B)/libupcall.so $(STLIB) $(B)/libupcall.pc $(PROGS) $(UNIT_BIN)

$(B)/%.pic.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(OBJ_FLAGS) -MMD -MP -c $< -o $@

# Only what the library marks UPCALL_EXPORT is visible, in .so and .a alike.
$(LIB_OBJ): OBJ_FLAGS := -fvisibility=hidden

$(SHLIB): $(LIB_PIC) lib/libupcall.sym
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined \
		-Wl,-z,defs -Wl,--version-script=lib/libupcall.sym -o $@ $(LIB_PIC)
$(B)/libupcall.so: $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $(B)/$(SONAME)
	ln -sf $(SONAME) $@

# The static library is one relocatable object whose hidden symbols are
# made local, so a program linking libupcall.a reaches the same API as one
# linking the .so and no internal function.  The unit tests and fuzz
# harnesses test internals: they link the plain objects ($(INTLIB)).
$(STLIB): $(LIB_OBJ)
	rm -f $@ $(B)/libupcall.o
	$(LD) -r -o $(B)/libupcall.o $^
	objcopy --localize-hidden $(B)/libupcall.o
	ar rcs $@ $(B)/libupcall.o
	rm -f $(B)/libupcall.o

$(INTLIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|'
$(B)/libupcall.pc: lib/libupcall.pc.in Makefile
	$(PC_SED) $< > $@

# The tools link libupcall statically: one file to copy into a VM host image.
define tool_rule
$(B)/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard cmd/$(1)/*.c)) $(COMMON_OBJ) $(STLIB)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) $$(TOOL_LDFLAGS) -o $$@ $$^ $$(TOOL_LIBS) $(LD_FILTER)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# json.o: the JSON of unsigned 64-bit numbers, which QMP addresses are
$(B)/upcall-stub: $(STUB_OBJ) $(B)/cmd/common/json.o $(STLIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ -ljansson

$(B)/tests/%: tests/unit/%.c $(INTLIB) tests/unit/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Ilib -o $@ $< $(INTLIB) $(LDFLAGS)

# make bench: the benchmark programs, always -O2; the baseline is static.
BENCH_PROGS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
$(B)/bench/%: bench/%.c bench/stats.h $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) -O2 -o $@ $< $(STLIB)
$(B)/bench/minimal: bench/minimal.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) -O2 -static -o $@ $<

bench: all $(BENCH_PROGS)
	@scripts/deps bench
	@B=$(B) bench/run

# TEST_DEPS=test-host: only what the suites outside the QEMU guest tier need
# (CI's fresh-Debian check runs those with BATS_FILES).
TEST_DEPS ?= test
deps-test:
	@scripts/deps $(TEST_DEPS)

deps-demo:
	@scripts/deps demo

test: deps-test all
	@B=$(B) tests/run-all

demo: deps-demo all
	@B=$(B) scripts/demo

install: all install-ansible
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/upcall \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libupcall.so
	install -m 0644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/upcall/upcall.h include/upcall/wire.h $(DESTDIR)$(INCLUDEDIR)/upcall/
	$(PC_SED) lib/libupcall.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libupcall.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(foreach s,1 3 5 7,install -m 0644 $(wildcard man/*.$(s)) $(DESTDIR)$(MANDIR)/man$(s)/;)
	install -m 0644 completions/upcallctl.bash $(DESTDIR)$(BASHCOMPDIR)/upcallctl
	$(foreach p,$(filter-out upcallctl,$(notdir $(PROGS))),ln -sf upcallctl $(DESTDIR)$(BASHCOMPDIR)/$(p);)
	install -m 0644 completions/_upcallctl $(DESTDIR)$(ZSHCOMPDIR)/_upcallctl
	$(MAKE) -C guest-driver dkms-src DESTDIR=$(abspath $(DESTDIR))

# Copied as ansible-galaxy would install it, without its build metadata:
# ansible-galaxy collection list reads galaxy.yml where MANIFEST.json is absent.
install-ansible:
	set -e; $(foreach f,$(ANSIBLE_FILES),install -D -m 0644 $(f) $(ANSIBLE_COLL)/$(f:ansible/%=%);)

uninstall-ansible:
	rm -rf $(ANSIBLE_COLL)
	rmdir $(dir $(ANSIBLE_COLL)) $(DESTDIR)$(ANSIBLEDIR)/ansible_collections 2>/dev/null || true

uninstall: uninstall-ansible
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS))) \
		$(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libupcall.so $(DESTDIR)$(LIBDIR)/libupcall.a \
		$(DESTDIR)$(INCLUDEDIR)/upcall/upcall.h $(DESTDIR)$(INCLUDEDIR)/upcall/wire.h \
		$(DESTDIR)$(PKGCONFIGDIR)/libupcall.pc \
		$(foreach m,$(wildcard man/*.[1357]),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(PROGS))) \
		$(DESTDIR)$(ZSHCOMPDIR)/_upcallctl
	rm -rf $(DKMSDIR)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/upcall

clean:
	rm -rf build build-san

.PHONY: all bench test demo install uninstall clean deps-test deps-demo install-ansible \
	uninstall-ansible
.DELETE_ON_ERROR:

include tests/check.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
