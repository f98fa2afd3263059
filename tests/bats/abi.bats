#!/usr/bin/env bats
# libupcall's ABI: the shared and the static library export exactly what
# lib/libupcall.sym lists, under its version nodes, and every function
# <upcall/upcall.h> declares; nothing internal links from libupcall.a.
load helpers

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# Symbols the version script makes global, sorted.
script_syms() {
	sed -n 's/^[[:space:]]*\(upcall_[a-z0-9_]*\);$/\1/p' "$TOP/lib/libupcall.sym" | sort
}

@test "abi: the shared library exports exactly the version script's symbols, all versioned" {
	run bash -c "nm -D --defined-only '$B/libupcall.so' | awk '\$2 != \"A\" { print \$3 }' | sort"
	assert_success
	local exported=$output
	run bash -c "printf '%s\n' \"\$1\" | grep -v '@@LIBUPCALL_[0-9.]*\$'" _ "$exported"
	assert_output ''
	run diff <(script_syms) <(printf '%s\n' "$exported" | sed 's/@.*//' | sort)
	assert_success
}

@test "abi: the static library defines the same global symbols as the shared one" {
	run diff <(script_syms) \
		<(nm -g --defined-only "$B/libupcall.a" | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort)
	assert_success
}

@test "abi: every function the public header declares is in the version script, and only those" {
	run diff <(script_syms) \
		<(grep -oE '\bupcall_[a-z0-9_]+[[:space:]]*\(' "$TOP/include/upcall/upcall.h" |
			sed 's/[[:space:]]*($//' | sort -u)
	assert_success
}

@test "abi: a program that calls an internal function does not link against libupcall.a" {
	local src=$BATS_TEST_TMPDIR/internal.c san=()
	# a sanitizer build's archive needs the sanitizer runtimes to link
	[[ $B == *-san ]] && san=(-fsanitize=address,undefined)
	cat >"$src" <<-'EOF'
	#include <stddef.h>
	int upcall_send_all(int fd, const void *buf, size_t len, void *s);
	int main(void) { return upcall_send_all(-1, NULL, 0, NULL); }
	EOF
	run cc "${san[@]}" -o "$BATS_TEST_TMPDIR/internal" "$src" "$B/libupcall.a"
	assert_failure
	assert_output --partial 'undefined reference to `upcall_send_all'"'"
	# The same program against the public API links.
	cat >"$src" <<-'EOF'
	#include <upcall/upcall.h>
	int main(void) { return upcall_version() == NULL; }
	EOF
	run cc "${san[@]}" -I"$TOP/include" -o "$BATS_TEST_TMPDIR/public" "$src" "$B/libupcall.a"
	assert_success
}
