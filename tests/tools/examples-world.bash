#!/bin/bash
# examples-world.bash TOP BUILD WORLD FILE: run the examples of FILE
# (tests/tools/examples.py) in a private mount namespace whose /run, /tmp
# and /usr/local are empty, so that they run verbatim: with the guests the
# documents name started there as upcall-stubs, the inventory the document
# shows, and the tools of BUILD on PATH.  WORLD: "man" (the inventory of
# vms.yaml(5)) or "readme" (the inventory of README.md).
# Run it through unshare -m (-r when not root).
set -eu
TOP=$1 B=$2 WORLD=$3 FILE=$4

mount --make-rprivate /
mount -t tmpfs tmpfs /run
# the tree and the build may live under /tmp, which is hidden next
mkdir /run/.top /run/.build
mount --bind "$TOP" /run/.top
mount --bind "$B" /run/.build
FILE=/run/.top/${FILE#"$TOP"/} TOP=/run/.top B=/run/.build
mount -t tmpfs tmpfs /tmp
cd /
mount -t tmpfs tmpfs /usr/local
[ ! -d /etc/upcall ] || mount -t tmpfs tmpfs /etc/upcall

unset UPCALL_STATE_DIR UPCALL_VM UPCALL_CONFIG XDG_RUNTIME_DIR
export HOME=/run/.home XDG_CONFIG_HOME=/run/.config PATH=$B:$PATH
mkdir -p "$HOME" "$XDG_CONFIG_HOME/upcall" /run/.logs /run/.work

# libupcall as `make install PREFIX=/usr/local` leaves it
mkdir -p /usr/local/include/upcall /usr/local/lib/pkgconfig
cp "$TOP"/include/upcall/*.h /usr/local/include/upcall/
cp -P "$B"/libupcall.so* "$B"/libupcall.a /usr/local/lib/
sed 's|^prefix=.*|prefix=/usr/local|' "$B/libupcall.pc" >/usr/local/lib/pkgconfig/libupcall.pc
export LD_LIBRARY_PATH=/usr/local/lib

PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

# guest SOCKET [STUB OPTIONS...]
guest() {
	local sock=$1 i
	shift
	mkdir -p "$(dirname "$sock")"
	upcall-stub -s "$sock" "$@" 2>>/run/.logs/stubs.log &
	PIDS+=($!)
	for i in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	cat /run/.logs/stubs.log >&2
	echo "upcall-stub on $sock did not start" >&2
	exit 1
}

case $WORLD in
man)
	python3 "$TOP/tests/tools/examples.py" file "$TOP/man/vms.yaml.5" inventory \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	guest /run/vm.sock --boot-vcpus 1 --max-vcpus 8 --pci 00:03.0
	guest /run/dragonball/web1.sock --boot-vcpus 2 --max-vcpus 8
	guest /run/qemu1.sock --max-vcpus 4 --qmp /run/qemu1.qmp
	;;
readme)
	python3 "$TOP/tests/tools/examples.py" file "$TOP/README.md" inventory \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	guest /run/vm.sock --boot-vcpus 1 --max-vcpus 8 --pci 00:03.0
	guest /run/web1.sock --max-vcpus 4 --qmp /run/web1.qmp
	guest /run/vms/a.sock
	guest /run/vms/b.sock --boot-vcpus 2
	;;
*)
	echo "unknown world $WORLD" >&2
	exit 64
	;;
esac

cd /run/.work
python3 "$TOP/tests/tools/examples.py" run "$FILE"
