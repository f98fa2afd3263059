#!/usr/bin/env bats
# make install into a staging root: every file where it belongs, the library
# usable through pkg-config by a program (libupcall(3)'s example), soname
# links, and make uninstall leaving no file behind.
load man_helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	command -v pkg-config >/dev/null || skip "pkg-config is not installed (scripts/deps test)"
	V=$(makefile_version)
	STAGE=$BATS_TEST_TMPDIR/stage
	# the build this run tests, sanitizers and all
	MK=(make -s -C "$TOP" B="$B")
	[[ $B == *-san ]] && MK+=(SAN=1)
	true
}

install_to() {
	run "${MK[@]}" install "$@"
	assert_success
}

# The example program of libupcall(3), unescaped.
man_example() {
	awk '/^\.Sh EXAMPLES/ { on = 1; next } on && /^\.Bd -literal/ { lit = 1; next }
	     lit && /^\.Ed/ { exit } lit' "$TOP/man/libupcall.3" | sed 's/\\e/\\/g'
}

@test "install: files, soname links, man pages, completions, DKMS tree" {
	install_to PREFIX=/usr DESTDIR="$STAGE"
	local u=$STAGE/usr f
	for f in upcallctl vcpuctl memctl upcall-stub; do
		[ -x "$u/bin/$f" ] || fail "no $u/bin/$f"
	done
	[ -f "$u/lib/libupcall.so.$V" ]
	assert_equal "$(readlink "$u/lib/libupcall.so.0")" "libupcall.so.$V"
	assert_equal "$(readlink "$u/lib/libupcall.so")" "libupcall.so.0"
	run readelf -d "$u/lib/libupcall.so.$V"
	assert_output --partial "Library soname: [libupcall.so.0]"
	[ -f "$u/lib/libupcall.a" ]
	assert [ -f "$u/include/upcall/upcall.h" ]
	assert [ -f "$u/include/upcall/wire.h" ]
	run cat "$u/lib/pkgconfig/libupcall.pc"
	assert_line "prefix=/usr"
	assert_line "Version: $V"
	for f in man1/upcallctl.1 man1/vcpuctl.1 man1/memctl.1 man1/upcall-stub.1 \
		man3/libupcall.3 man5/vms.yaml.5 man7/upcall.7; do
		[ -f "$u/share/man/$f" ] || fail "no $u/share/man/$f"
	done
	# bash-completion loads a completion by the command's name
	local comp
	comp=$(pkg-config --define-variable=datadir=/usr/share --variable=completionsdir bash-completion 2>/dev/null ||
		echo /usr/share/bash-completion/completions)
	for f in upcallctl vcpuctl memctl upcall-stub; do
		[ -f "$STAGE$comp/$f" ] || fail "no completion $STAGE$comp/$f"
	done
	cmp "$STAGE$comp/upcallctl" "$TOP/completions/upcallctl.bash"
	# zsh finds one file for all four through its #compdef line
	cmp "$u/share/zsh/vendor-completions/_upcallctl" "$TOP/completions/_upcallctl"
	# DKMS source tree: dkms.conf, the build files, the sources, wire.h
	local src=$STAGE/usr/src/upcall-guest-$V
	for f in dkms.conf Kbuild Makefile upcall_main.c upcall_guest.h include/upcall/wire.h; do
		[ -f "$src/$f" ] || fail "no $src/$f"
	done
	run grep -c '^PACKAGE_NAME="upcall-guest"' "$src/dkms.conf"
	assert_output 1
}

@test "install: a program builds through pkg-config and runs on the installed library" {
	install_to PREFIX=/usr DESTDIR="$STAGE"
	man_example >"$BATS_TEST_TMPDIR/addcpu.c"
	[ -s "$BATS_TEST_TMPDIR/addcpu.c" ]
	export PKG_CONFIG_PATH=$STAGE/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE
	run pkg-config --cflags --libs libupcall
	assert_success
	assert_output --partial "-I$STAGE/usr/include"
	assert_output --partial "-L$STAGE/usr/lib"
	# shellcheck disable=SC2046
	run cc -std=c99 -Wall -Wextra -Werror -o "$BATS_TEST_TMPDIR/addcpu" "$BATS_TEST_TMPDIR/addcpu.c" \
		$(pkg-config --cflags --libs libupcall)
	assert_success
	run readelf -d "$BATS_TEST_TMPDIR/addcpu"
	assert_output --partial "Shared library: [libupcall.so.0]"
	start_stub --boot-vcpus 2
	LD_LIBRARY_PATH=$STAGE/usr/lib run "$BATS_TEST_TMPDIR/addcpu" "$SOCK"
	assert_success
	assert_output "APIC ID 2 online (libupcall $V)"
	assert_equal "$(stub_state cpus)" "0,1,2"
	# the static library serves the same program
	# shellcheck disable=SC2046
	run cc -o "$BATS_TEST_TMPDIR/addcpu-static" "$BATS_TEST_TMPDIR/addcpu.c" \
		$(pkg-config --cflags libupcall) "$STAGE/usr/lib/libupcall.a"
	assert_success
	run "$BATS_TEST_TMPDIR/addcpu-static" "$SOCK"
	assert_output "APIC ID 3 online (libupcall $V)"
	stop_stub
}

@test "install: a C++ program includes the public header and links the library" {
	command -v g++ >/dev/null || skip "g++ is not installed (build-essential, scripts/deps test)"
	install_to PREFIX=/usr DESTDIR="$STAGE"
	cat >"$BATS_TEST_TMPDIR/ping.cc" <<-'EOF'
		#include <cstdio>
		#include <upcall/upcall.h>

		int main(int argc, char **argv)
		{
			struct upcall_target t;
			char err[256];

			if (argc != 2 || upcall_target_parse(argv[1], 0, &t, err, sizeof(err)))
				return 64;
			struct upcall_session *s = upcall_session_new(&t);
			enum upcall_status st = upcall_connect(s);

			std::printf("%s\n", st == UPCALL_OK ? "connected" : upcall_errmsg(s));
			upcall_session_free(s);
			return st;
		}
	EOF
	export PKG_CONFIG_PATH=$STAGE/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$STAGE
	# shellcheck disable=SC2046
	run g++ -std=c++11 -Wall -Wextra -Werror -o "$BATS_TEST_TMPDIR/ping" "$BATS_TEST_TMPDIR/ping.cc" \
		$(pkg-config --cflags --libs libupcall)
	assert_success
	start_stub
	LD_LIBRARY_PATH=$STAGE/usr/lib run "$BATS_TEST_TMPDIR/ping" "$SOCK"
	assert_success
	assert_output "connected"
	stop_stub
}

@test "install: PREFIX decides the paths, also in libupcall.pc" {
	install_to PREFIX=/opt/upcall DESTDIR="$STAGE"
	[ -x "$STAGE/opt/upcall/bin/upcallctl" ]
	[ -f "$STAGE/opt/upcall/share/man/man1/upcallctl.1" ]
	[ -f "$STAGE/opt/upcall/share/bash-completion/completions/upcallctl" ]
	run cat "$STAGE/opt/upcall/lib/pkgconfig/libupcall.pc"
	assert_line "prefix=/opt/upcall"
	assert_line "libdir=/opt/upcall/lib"
	assert_line "includedir=/opt/upcall/include"
	run "${MK[@]}" uninstall PREFIX=/opt/upcall DESTDIR="$STAGE"
	assert_success
	run find "$STAGE" ! -type d
	assert_output ""
}

@test "uninstall: leaves no file behind" {
	install_to PREFIX=/usr DESTDIR="$STAGE"
	run "${MK[@]}" uninstall PREFIX=/usr DESTDIR="$STAGE"
	assert_success
	run find "$STAGE" ! -type d
	assert_output ""
}
