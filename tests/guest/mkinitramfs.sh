#!/bin/sh
# mkinitramfs.sh OUT KERNEL_MODULES_DIR UPCALL_KO BINDIR MODULE...
# A gzip'd cpio with static busybox, the static programs of BINDIR (the
# relay among them) in /bin, /init and the given kernel modules (names
# without .ko, loaded in this order).  UPCALL_GUEST_BUSYBOX
# names another busybox binary (default /bin/busybox).
set -eu
out=$1 kmods=$2 upcall_ko=$3 bindir=$4
shift 4
here=$(dirname "$0")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/etc" "$root/lib/modules"
cp "${UPCALL_GUEST_BUSYBOX:-/bin/busybox}" "$root/bin/busybox"
cp "$bindir"/* "$root/bin/"
cp "$here/init" "$root/init"
chmod 0755 "$root/init"
cp "$upcall_ko" "$root/lib/modules/upcall_guest.ko"
: > "$root/etc/modules"
for m in "$@"; do
	ko=$(find "$kmods" -name "$m.ko" | head -n 1)
	[ -n "$ko" ] || { echo "mkinitramfs: no $m.ko under $kmods" >&2; exit 1; }
	cp "$ko" "$root/lib/modules/"
	echo "$m" >> "$root/etc/modules"
done
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
