#!/bin/sh
# Print the directory holding Debian's kernel image for the ABI of the
# installed linux-headers-amd64, fetching and extracting it once into the
# cache.  Only Debian packages, fetched through apt.
set -eu

cache=${UPCALL_GUEST_CACHE:-$HOME/.cache/upcall-tools/guest}

abi=${UPCALL_GUEST_ABI:-}
if [ -z "$abi" ]; then
	abi=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p')
fi
[ -n "$abi" ] || { echo "kernel.sh: linux-headers-amd64 is not installed" >&2; exit 1; }

dir=$cache/linux-image-$abi
if [ ! -f "$dir/.done" ]; then
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/fetch.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download writes into the current directory.
	(cd "$tmp" && apt-get download -q "linux-image-$abi" >&2) ||
		(apt-get update -q >&2 && cd "$tmp" && apt-get download -q "linux-image-$abi" >&2)
	rm -rf "$dir"
	dpkg -x "$tmp"/linux-image-"$abi"_*.deb "$dir"
	touch "$dir/.done"
fi
echo "$dir"
