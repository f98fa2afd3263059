#!/usr/bin/env bats
# The Debian packages: dpkg-buildpackage -us -uc -b in a copy of the working
# tree (tracked and new files, as they are now), then lintian: no errors.
load man_helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	command -v dpkg-buildpackage >/dev/null ||
		skip "dpkg-buildpackage is not installed (scripts/deps test)"
	command -v lintian >/dev/null || skip "lintian is not installed (scripts/deps test)"
	command -v dh_dkms >/dev/null || skip "dh-dkms is not installed (scripts/deps test)"
}

@test "debian: dpkg-buildpackage builds the four packages and lintian finds no error" {
	local work=$BATS_TEST_TMPDIR/deb v
	v=$(makefile_version)
	mkdir -p "$work/src"
	# the files git knows or would add, without build output (build*/);
	# files others remove meanwhile are no error
	(cd "$TOP" && git ls-files -co --exclude-standard | grep -v '^build[^/]*/' |
		while IFS= read -r f; do [ -e "$f" ] && printf '%s\n' "$f"; done |
		cpio -pdm --quiet "$work/src" 2>/dev/null) || true
	assert [ -f "$work/src/debian/control" ]
	assert [ -f "$work/src/Makefile" ]
	# a clean environment: B (our build dir) and make's flags must not leak in
	run env -u B -u UPCALL_BUILD -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
		bash -c "cd '$work/src' && timeout 150 dpkg-buildpackage -us -uc -b 2>&1"
	[ "$status" -eq 0 ] || fail "dpkg-buildpackage failed: $(tail -n 30 <<<"$output")"
	local p
	for p in "upcall-tools_${v}_" "libupcall0_${v}_" "libupcall-dev_${v}_" \
		"upcall-guest-dkms_${v}_all"; do
		compgen -G "$work/$p*.deb" >/dev/null || fail "no $p*.deb"
	done
	# what goes where
	run dpkg-deb -c "$work"/libupcall0_"$v"_*.deb
	assert_output --partial "/libupcall.so.$v"
	assert_output --partial "/libupcall.so.0 -> libupcall.so.$v"
	run dpkg-deb -c "$work"/libupcall-dev_"$v"_*.deb
	assert_output --partial "/pkgconfig/libupcall.pc"
	assert_output --partial "./usr/include/upcall/upcall.h"
	assert_output --partial "./usr/share/man/man3/libupcall.3"
	run dpkg-deb -c "$work"/upcall-tools_"$v"_*.deb
	assert_output --partial "./usr/bin/upcallctl"
	assert_output --partial "./usr/share/man/man1/vcpuctl.1"
	assert_output --partial "/bash-completion/completions/upcallctl"
	assert_output --partial "./usr/share/zsh/vendor-completions/_upcallctl"
	run dpkg-deb -c "$work/upcall-guest-dkms_${v}_all.deb"
	assert_output --partial "./usr/src/upcall-guest-$v/dkms.conf"
	run dpkg-deb -f "$work/upcall-guest-dkms_${v}_all.deb" Depends
	assert_output --partial "dkms"
	# the library package's shlibs name its soname
	run bash -c "dpkg-deb -I '$(compgen -G "$work/libupcall0_${v}_*.deb")' shlibs"
	assert_output --partial "libupcall 0 libupcall0"
	run timeout 120 lintian --fail-on error "$work"/upcall-tools_"$v"_*.changes
	[ "$status" -eq 0 ] || fail "lintian: $output"
	refute_output --partial "E: "
}
