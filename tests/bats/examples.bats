#!/usr/bin/env bats
# Every example of the man pages and README.md runs verbatim against
# upcall-stubs, in a mount namespace whose /run, /tmp and /usr/local are
# private (tests/tools/examples-world.bash): the commands as printed, the
# output they show, the files and state records they show.  An example the
# extractor cannot classify fails (tests/tools/examples.py says how to mark
# one).

load helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	if [ "$(id -u)" = 0 ]; then
		NS=(unshare -m)
	else
		NS=(unshare -r -m)
	fi
	"${NS[@]}" true 2>/dev/null || skip "no private mount namespace here (unshare -m${NS[2]:+ -r})"
	BUILD=$(cd "$B" && pwd)
}

examples() {
	run timeout --kill-after=5 120 "${NS[@]}" bash "$TOP/tests/tools/examples-world.bash" \
		"$TOP" "$BUILD" "$1" "$TOP/$2"
	assert_success
	assert_output --regexp "ran [1-9][0-9]* examples of "
	refute_output --partial FAILED
}

@test "examples: upcallctl(1)" {
	examples man man/upcallctl.1
}

@test "examples: vcpuctl(1)" {
	examples man man/vcpuctl.1
}

@test "examples: memctl(1)" {
	examples man man/memctl.1
}

@test "examples: upcall-stub(1)" {
	examples man man/upcall-stub.1
}

@test "examples: libupcall(3) builds and runs through pkg-config" {
	[[ $B != *-san ]] || skip "the sanitizer build's library links only with -fsanitize"
	examples man man/libupcall.3
}

@test "examples: vms.yaml(5), the inventory and the state records it shows" {
	examples man man/vms.yaml.5
}

@test "examples: README.md" {
	examples readme README.md
}

@test "examples: every man page with an EXAMPLES section is run here" {
	local f
	for f in "$TOP"/man/*.[1-8]; do
		grep -q '^\.Sh EXAMPLES' "$f" || continue
		grep -qF "man/${f##*/}" "$BATS_TEST_FILENAME" || fail "man/${f##*/} has examples no test runs"
	done
}

@test "examples: an unmarked block, a failing command or a missing output line fails" {
	local d=$BATS_TEST_TMPDIR
	printf '# x\n\n    some text\n' >"$d/a.md"
	run python3 "$TOP/tests/tools/examples.py" run "$d/a.md"
	assert_failure
	assert_output --partial "a.md:3: an example with no \"\$ \" command and no example-* marker"
	printf '.Sh EXAMPLES\n.Dl $ false\n' >"$d/b.1"
	run python3 "$TOP/tests/tools/examples.py" run "$d/b.1"
	assert_failure
	assert_output --partial "b.1:2: exit 1: false"
	printf '.Sh EXAMPLES\n.Bd -literal\n$ echo a\nb\n.Ed\n' >"$d/c.1"
	run python3 "$TOP/tests/tools/examples.py" run "$d/c.1"
	assert_failure
	assert_output --partial 'printed no line "b"'
	printf '.Sh EXAMPLES\n.Bd -literal\n$ echo a; echo b\nb\n.Ed\n' >"$d/d.1"
	run python3 "$TOP/tests/tools/examples.py" run "$d/d.1"
	assert_success
	assert_output --partial "ran 1 examples"
}
