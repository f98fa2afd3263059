#!/usr/bin/env bats
# tests/guest/kernel.sh, the guest tier's kernel cache, with apt-get and
# dpkg stood in for: two runs at once fetch the image once.

load helpers

KERNEL_SH=$BATS_TEST_DIRNAME/../guest/kernel.sh

setup() {
	export UPCALL_GUEST_CACHE=$BATS_TEST_TMPDIR/cache UPCALL_GUEST_ABI=6.1.0-99-amd64
	export FAKE_LOG=$BATS_TEST_TMPDIR/apt.log
	local bin=$BATS_TEST_TMPDIR/bin
	mkdir -p "$bin"
	# a download that takes a second and notes any other one running meanwhile
	cat >"$bin/apt-get" <<-'EOF'
	#!/bin/sh
	[ "$1" = download ] || exit 0
	shift
	[ ! -e "$FAKE_LOG.busy" ] || echo overlap >>"$FAKE_LOG"
	touch "$FAKE_LOG.busy"
	echo download >>"$FAKE_LOG"
	sleep 1
	for p in "$@"; do
		case $p in -*) ;; *) echo "$p" >"$p.deb" ;; esac
	done
	rm -f "$FAKE_LOG.busy"
	EOF
	# dpkg -x DEB DIR: a file per package
	cat >"$bin/dpkg" <<-'EOF'
	#!/bin/sh
	[ "$1" = -x ] || exit 1
	mkdir -p "$3/boot" && cp "$2" "$3/boot/"
	EOF
	chmod +x "$bin/apt-get" "$bin/dpkg"
	export PATH=$bin:$PATH
}

@test "kernel.sh: two runs at once fetch the image once and print the same directory" {
	"$KERNEL_SH" >"$BATS_TEST_TMPDIR/one" 2>&1 3>&- &
	local one=$!
	"$KERNEL_SH" >"$BATS_TEST_TMPDIR/two" 2>&1 3>&- &
	local two=$!
	wait "$one" || fail "first run: $(cat "$BATS_TEST_TMPDIR/one")"
	wait "$two" || fail "second run: $(cat "$BATS_TEST_TMPDIR/two")"
	local dir=$UPCALL_GUEST_CACHE/linux-image-6.1.0-99-amd64
	assert_equal "$(cat "$BATS_TEST_TMPDIR/one")" "$dir"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/two")" "$dir"
	run cat "$FAKE_LOG"
	assert_output "download"
	assert [ -f "$dir/.done" ]
	assert [ -f "$dir/boot/linux-image-6.1.0-99-amd64.deb" ]
	# a later run finds it done
	run "$KERNEL_SH"
	assert_success
	assert_output "$dir"
	run cat "$FAKE_LOG"
	assert_output "download"
}
