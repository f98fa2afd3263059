#!/usr/bin/env bats
# The man pages against the binaries: every option, command and exit code
# that --help shows is in the man page and every one the man page lists is
# in --help; the pages are lint-clean and their examples work.
load man_helpers

setup() {
	command -v mandoc >/dev/null || skip "mandoc is not installed (scripts/deps test)"
}

@test "man: every page is lint-clean (mandoc -Tlint, warnings and up)" {
	run mandoc -Tlint -W warning "$MAN"/*.[1-8]
	assert_success
	assert_output ""
	# and renders through man(1) as installed pages would
	for p in "$MAN"/*.[1-8]; do
		run mandoc -Tutf8 "$p"
		assert_success
		[ "${#lines[@]}" -gt 20 ] || fail "$p renders to ${#lines[@]} lines"
	done
}

@test "man: each binary, the library, the protocol and the inventory have a page" {
	for f in upcallctl.1 vcpuctl.1 memctl.1 upcall-stub.1 libupcall.3 vms.yaml.5 upcall.7; do
		[ -f "$MAN/$f" ] || fail "man/$f is missing"
	done
}

@test "man: global options of every binary match --help both ways" {
	for b in $BINS; do
		assert_same "$b options" "$("$B/$b" --help | help_opts)" \
			"$(man_opts "$MAN/$b.1" OPTIONS)"
	done
}

@test "man: commands of every binary match --help both ways" {
	for b in upcallctl vcpuctl memctl; do
		assert_same "$b commands" "$("$B/$b" --help | help_cmds)" \
			"$(man_cmds "$MAN/$b.1")"
	done
}

@test "man: each command's own options match 'COMMAND --help' both ways" {
	local b c n=0
	for b in upcallctl vcpuctl memctl; do
		while IFS= read -r c; do
			# shellcheck disable=SC2086
			run "$B/$b" $c --help
			assert_success
			assert_same "$b $c options" "$(help_opts stop <<<"$output")" \
				"$(man_opts "$MAN/$b.1" COMMANDS "$c")"
			# the global part of a command's help is the global options
			assert_same "$b $c global options" \
				"$(sed -n '/^ Global options:/,$p' <<<"$output" | help_opts)" \
				"$(man_opts "$MAN/$b.1" OPTIONS)"
			n=$((n + 1))
		done < <("$B/$b" --help | help_cmds)
	done
	[ "$n" -ge 15 ] || fail "only $n commands found in --help"
}

@test "man: exit codes match --help both ways" {
	for b in $BINS; do
		run "$B/$b" --help
		[ -n "$(help_exits <<<"$output")" ] || fail "$b --help lists no exit codes"
		assert_same "$b exit codes" "$(help_exits <<<"$output")" "$(man_exits "$MAN/$b.1")"
	done
}

@test "man: upcall-stub faults match --help both ways" {
	assert_same "upcall-stub faults" \
		"$("$B/upcall-stub" --help | sed -nE 's/^    ([a-z][a-z-]*).*/\1/p' | sort -u)" \
		"$(man_words "$MAN/upcall-stub.1" FAULTS | sed 's/=.*//')"
}

@test "man: the shell's own commands match its 'help' both ways" {
	local listed ctl
	listed=$(printf 'help\n' | "$B/upcallctl" shell | grep '^  [a-z]' | cmd_words)
	ctl=$("$B/upcallctl" --help | help_cmds | grep -vx shell)
	# the shell offers every upcallctl command but itself, then its own
	assert_same "shell: upcallctl commands" "$ctl" "$(comm -12 <(echo "$listed") <(echo "$ctl"))"
	assert_same "shell commands" "$(comm -23 <(echo "$listed") <(echo "$ctl"))" \
		"$(man_words "$MAN/upcallctl.1" COMMANDS shell)"
}

@test "man: every library function is in libupcall(3) and every .Fn there exists" {
	local header page
	header=$(grep -oE '\bupcall_[a-z_]+\(' "$BATS_TEST_DIRNAME/../../include/upcall/upcall.h" |
		tr -d '(' | sort -u)
	page=$(sed -n 's/^\.Nm \(upcall_[a-z_]*\).*/\1/p' "$MAN/libupcall.3" | sort -u)
	assert_same "libupcall functions (header vs NAME)" "$header" "$page"
	page=$(sed -n 's/^\.Fn \(upcall_[a-z_]*\).*/\1/p' "$MAN/libupcall.3" | sort -u)
	assert_same "libupcall functions (header vs SYNOPSIS)" "$header" "$page"
}

@test "man: vms.yaml(5) example inventory and record are what the tools use and write" {
	export UPCALL_STATE_DIR=$BATS_TEST_TMPDIR/state
	start_stub --boot-vcpus 2 --max-vcpus 8
	# the first literal block is the inventory; aim web1 at the stub
	awk '/^\.Bd -literal/ { n++; next } /^\.Ed/ { if (n == 1) exit; next } n == 1' \
		"$MAN/vms.yaml.5" | sed "s|/run/dragonball/web1.sock|$SOCK|" >"$BATS_TEST_TMPDIR/vms.yaml"
	chmod 600 "$BATS_TEST_TMPDIR/vms.yaml"
	run "$B/vcpuctl" --config "$BATS_TEST_TMPDIR/vms.yaml" --vm web1 set-count 3
	assert_success
	run "$B/memctl" --config "$BATS_TEST_TMPDIR/vms.yaml" --vm web1 add 128M
	assert_success
	# the second is the record: the same keys and values but the identity
	awk '/^\.Bd -literal/ { n++; next } /^\.Ed/ { if (n == 2) exit; next } n == 2' \
		"$MAN/vms.yaml.5" | sed "s|/run/dragonball/web1.sock|$SOCK|" |
		grep -v '^identity:' >"$BATS_TEST_TMPDIR/expected"
	grep -v '^identity:' "$UPCALL_STATE_DIR/web1.yaml" >"$BATS_TEST_TMPDIR/actual"
	run diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/actual"
	assert_success
	stop_stub
}

@test "version: --version of every binary is the Makefile's VERSION" {
	local v
	v=$(makefile_version)
	[ -n "$v" ]
	for b in $BINS; do
		run "$B/$b" --version
		assert_success
		assert_output "$b $v"
	done
	run grep -c "^Version: $v\$" "$B/libupcall.pc"
	assert_output 1
	[ -e "$B/libupcall.so.$v" ] || fail "no $B/libupcall.so.$v"
}

@test "version: debian/changelog and the DKMS module carry the Makefile's VERSION" {
	local v top
	v=$(makefile_version)
	top=$BATS_TEST_DIRNAME/../..
	run sed -n '1s/^upcall-tools (\([^)]*\)).*/\1/p' "$top/debian/changelog"
	assert_output "$v"
	run sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/guest-driver/dkms.conf"
	assert_output "$v"
}
