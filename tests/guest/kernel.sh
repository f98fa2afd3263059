#!/bin/sh
# kernel.sh [ARCH]: print the directory holding Debian's kernel image for
# the ABI of the installed linux-headers-amd64, fetching and extracting it
# once into the cache.  ARCH arm64 (default amd64) takes the arm64 image of
# the same ABI number and adds, in the same directory, its headers to
# cross-build against and busybox-static:arm64.  Only Debian packages,
# fetched through apt and extracted, never installed.
set -eu

arch=${1:-amd64}
cache=${UPCALL_GUEST_CACHE:-$HOME/.cache/upcall-tools/guest}

abi=${UPCALL_GUEST_ABI:-}
if [ -z "$abi" ]; then
	abi=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
	abi=${abi:+${abi%-amd64}-$arch}
fi
[ -n "$abi" ] || { echo "kernel.sh: linux-headers-amd64 is not installed" >&2; exit 1; }

case $arch in
amd64) pkgs="linux-image-$abi" ;;
*) pkgs="linux-image-$abi:$arch linux-headers-$abi:$arch busybox-static:$arch" ;;
esac

dir=$cache/linux-image-$abi
fetch() {
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download writes into the current directory.
	# shellcheck disable=SC2086
	(cd "$tmp" && apt-get download -q $pkgs >&2) ||
		(apt-get update -q >&2 && cd "$tmp" && apt-get download -q $pkgs >&2)
	rm -rf "$dir"
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$dir"
	done
	# The headers' scripts and tools link (relatively) to linux-kbuild:
	# use the host's, which builds for any architecture.
	for l in "$dir"/usr/src/linux-headers-*/scripts; do
		[ -L "$l" ] || continue
		kbuild=$(basename "$(dirname "$(readlink "$l")")")
		mkdir -p "$dir/usr/lib"
		ln -sfn "/usr/lib/$kbuild" "$dir/usr/lib/$kbuild"
	done
	touch "$dir/.done"
}

if [ ! -f "$dir/.done" ]; then
	mkdir -p "$cache"
	# One fetch at a time: a run that started meanwhile waits for it (the
	# image is about 70 MB), then finds the directory done.
	exec 9>"$cache/.fetch.lock"
	flock -w 900 9 || { echo "kernel.sh: $cache is locked by another fetch" >&2; exit 1; }
	if [ ! -f "$dir/.done" ]; then
		fetch
	fi
	exec 9>&-
fi
echo "$dir"
