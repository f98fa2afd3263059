# Guest tier helpers for bats: build the module against Debian's 6.1
# headers, pack an initramfs, boot Debian's kernel under QEMU (TCG), and
# reach the guest through the bridge: $GSOCK is a hybrid vsock Unix socket
# (what a VMM offers) and guest_sh runs a command in the guest.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

GUEST_SRC=$(cd "$BATS_TEST_DIRNAME/../guest" && pwd)
REPO=$(cd "$GUEST_SRC/../.." && pwd)
B=${UPCALL_BUILD:-$REPO/build}
UPCALLCTL=$B/upcallctl
# Boot timeout: a TCG boot takes seconds, a loaded CI machine more.
GUEST_BOOT_TIMEOUT=${GUEST_BOOT_TIMEOUT:-180}

# Modules the guests load, in dependency order (there is no modules.dep).
VSOCK_MODS="vsock vmw_vsock_virtio_transport_common vsock_loopback"
Q35_MODS="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console $VSOCK_MODS"
MICROVM_MODS="virtio_ring virtio virtio_mmio virtio_blk $VSOCK_MODS"
# Debian's arm64 kernel has virtio and virtio_ring built in.
ARM64_MODS="virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console $VSOCK_MODS"

guest_abi() {
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([0-9][^ ,]*-amd64\).*/\1/p'
}

# In setup_file: can the guest tier run here?  If not, GUEST_SKIP says
# why and guest_skip_if_unavailable (in setup) skips each test with it;
# this bats version cannot skip from setup_file itself.
guest_require() {
	local cmd
	export GUEST_SKIP=
	[ "${1:-}" != arm64 ] || { guest_require_arm64; return; }
	for cmd in qemu-system-x86_64 cpio gcc python3 make dpkg-query; do
		command -v "$cmd" >/dev/null || { GUEST_SKIP="guest tier: $cmd not installed"; return 1; }
	done
	[ -x /bin/busybox ] || { GUEST_SKIP="guest tier: busybox-static not installed"; return 1; }
	GUEST_ABI=${UPCALL_GUEST_ABI:-$(guest_abi)}
	[ -n "$GUEST_ABI" ] || { GUEST_SKIP="guest tier: linux-headers-amd64 not installed"; return 1; }
	KDIR=/lib/modules/$GUEST_ABI/build
	[ -d "$KDIR" ] || { GUEST_SKIP="guest tier: no kernel build tree at $KDIR"; return 1; }
	[ -x "$UPCALLCTL" ] || { GUEST_SKIP="guest tier: $UPCALLCTL not built"; return 1; }
	KIMG=$(UPCALL_GUEST_ABI=$GUEST_ABI "$GUEST_SRC/kernel.sh") || {
		GUEST_SKIP="guest tier: Debian's linux-image-$GUEST_ABI is not available"
		return 1
	}
	export GUEST_ABI KDIR KIMG
}

# arm64: the module is cross-built against Debian's arm64 headers of the
# same ABI, which kernel.sh extracts next to the image with an arm64
# busybox; their common part and kbuild are the host's amd64 packages.
guest_require_arm64() {
	local cmd common
	for cmd in qemu-system-aarch64 aarch64-linux-gnu-gcc cpio python3 make dpkg-query; do
		command -v "$cmd" >/dev/null || { GUEST_SKIP="guest tier (arm64): $cmd not installed"; return 1; }
	done
	GUEST_ABI=${UPCALL_GUEST_ABI:-$(guest_abi)}
	[ -n "$GUEST_ABI" ] || { GUEST_SKIP="guest tier (arm64): linux-headers-amd64 not installed"; return 1; }
	GUEST_ABI=${GUEST_ABI%-amd64}-arm64
	[ -x "$UPCALLCTL" ] || { GUEST_SKIP="guest tier (arm64): $UPCALLCTL not built"; return 1; }
	KIMG=$(UPCALL_GUEST_ABI=$GUEST_ABI "$GUEST_SRC/kernel.sh" arm64) || {
		GUEST_SKIP="guest tier (arm64): Debian's linux-image-$GUEST_ABI:arm64 is not available (dpkg --add-architecture arm64; apt-get update)"
		return 1
	}
	KDIR=$KIMG/usr/src/linux-headers-$GUEST_ABI
	common=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$KDIR/Makefile")
	[ -d "$common" ] || { GUEST_SKIP="guest tier (arm64): no $common (linux-headers-amd64 of ABI ${GUEST_ABI%-arm64})"; return 1; }
	GUEST_QEMU=qemu-system-aarch64 GUEST_CC=aarch64-linux-gnu-gcc
	GUEST_KMAKE="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"
	UPCALL_GUEST_BUSYBOX=$KIMG/bin/busybox
	export GUEST_ABI KDIR KIMG GUEST_QEMU GUEST_CC GUEST_KMAKE UPCALL_GUEST_BUSYBOX
}

# Under CI (CI set, as CI runs .ci/run) the guest tier must run: a skip
# there would pass a run that never loaded the module.
guest_skip_if_unavailable() {
	[ -n "${GUEST_SKIP:-}" ] || return 0
	case ${CI:-} in
	'' | false | 0) skip "$GUEST_SKIP" ;;
	*) fail "$GUEST_SKIP (CI=$CI: the guest tier must run, not skip)" ;;
	esac
}

# setup() of a guest suite: skip with the reason, else the tools keep
# their state records and inventory in the file's own directory.
guest_setup() {
	guest_skip_if_unavailable
	export UPCALL_STATE_DIR=$BATS_FILE_TMPDIR/state XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/config
	mkdir -p -m 0700 "$UPCALL_STATE_DIR" "$XDG_CONFIG_HOME"
}

mem_total_kb() {
	guest_sh "sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo"
}

# Build the module from a copy of the sources (the tree stays clean), the
# static guest programs, and an initramfs with the given kernel modules.
guest_build() {
	local work=$BATS_FILE_TMPDIR/build
	mkdir -p "$work/guest-driver" "$work/include/upcall"
	cp "$REPO"/guest-driver/{Kbuild,Makefile,dkms.conf,*.c,*.h} "$work/guest-driver/"
	cp "$REPO/include/upcall/wire.h" "$work/include/upcall/"
	export MODULE_BUILD_LOG=$work/module.log
	# shellcheck disable=SC2086
	make -C "$KDIR" ${GUEST_KMAKE:-} M="$work/guest-driver" W=1 modules >"$MODULE_BUILD_LOG" 2>&1 || {
		cat "$MODULE_BUILD_LOG" >&2
		return 1
	}
	# Every tests/guest/*.c is a static program for the guest's /bin:
	# relay.c becomes upcall-relay, NAME.c becomes upcall-NAME.
	mkdir -p "$work/bin"
	local src name
	for src in "$GUEST_SRC"/*.c; do
		name=upcall-$(basename "$src" .c)
		"${GUEST_CC:-gcc}" -static -O2 -Wall -Wextra -Werror -o "$work/bin/$name" "$src" || return 1
	done
	# A static upcallctl runs in an x86_64 guest as well, where it reaches
	# the module over native vsock (vsock:1).
	if [ -z "${GUEST_CC:-}" ] && ! readelf -l "$UPCALLCTL" | grep -q INTERP; then
		cp "$UPCALLCTL" "$work/bin/upcallctl"
	fi
	# The event-loop test program: libupcall's non-blocking native vsock
	# path, which a host without vsock loopback cannot run.
	if [ -z "${GUEST_CC:-}" ] && [ -e "$B/libupcall.a" ]; then
		gcc -static -O2 -I"$REPO/include" -o "$work/bin/upcall-evloop" \
			"$REPO/tests/tools/evloop.c" "$B/libupcall.a" || return 1
	fi
	export GUEST_KO=$work/guest-driver/upcall_guest.ko
	"$GUEST_SRC/mkinitramfs.sh" "$work/initrd.gz" "$KIMG/lib/modules/$GUEST_ABI" \
		"$GUEST_KO" "$work/bin" "$@"
	export GUEST_INITRD=$work/initrd.gz
}

# guest_boot APPEND QEMU-ARGS...: boot, start the bridge, wait for the relay.
# The caller passes the stream device as -serial/-device using $GDIR/mux.sock.
guest_boot() {
	local append=$1 i
	shift
	export GDIR=$BATS_FILE_TMPDIR/vm
	mkdir -p "$GDIR"
	export GSOCK=$GDIR/vm.sock GEXEC=$GDIR/exec.sock
	"${GUEST_QEMU:-qemu-system-x86_64}" -accel tcg -nodefaults -display none -no-reboot \
		-kernel "$KIMG/boot/vmlinuz-$GUEST_ABI" -initrd "$GUEST_INITRD" \
		-append "$append panic=-1" "$@" \
		</dev/null >"$GDIR/qemu.log" 2>&1 3>&- &
	echo $! >"$GDIR/qemu.pid"
	python3 "$GUEST_SRC/bridge.py" serve --chardev "$GDIR/mux.sock" \
		--upcall "$GSOCK" --exec "$GEXEC" --ready "$GDIR/ready" \
		--timeout "$GUEST_BOOT_TIMEOUT" </dev/null >"$GDIR/bridge.log" 2>&1 3>&- &
	echo $! >"$GDIR/bridge.pid"
	for i in $(seq $((GUEST_BOOT_TIMEOUT * 10))); do
		[ -s "$GDIR/ready" ] && return 0
		kill -0 "$(cat "$GDIR/bridge.pid")" 2>/dev/null || break
		sleep 0.1
	done
	cat "$GDIR/qemu.log" "$GDIR/bridge.log" "$GDIR"/console.log >&2 2>/dev/null
	echo "guest did not come up" >&2
	return 1
}

# guest_boot_acpi_free NCPUS: q35 as a VMM that hot-adds over QMP boots
# it (-smp 1,maxcpus=NCPUS, QMP on $QMP_SOCK), the guest with acpi=off
# possible_cpus=NCPUS; acpi=off leaves no HPET or PM timer, so
# tsc=reliable and the host's TSC rate keep guest time right.
guest_boot_acpi_free() {
	local khz tsc=
	khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
	[ -z "$khz" ] || tsc="tsc=reliable tsc_early_khz=$khz"
	mkdir -p "$BATS_FILE_TMPDIR/vm"
	export QMP_SOCK=$BATS_FILE_TMPDIR/vm/qmp.sock
	guest_boot "console=ttyS0 acpi=off possible_cpus=$1 $tsc upcall_mux=virtio" \
		-M q35 -cpu qemu64 -smp "1,maxcpus=$1" -m 512M,slots=4,maxmem=4G \
		-qmp "unix:$QMP_SOCK,server=on,wait=off" \
		-serial "file:$BATS_FILE_TMPDIR/console.log" \
		-device virtio-serial-pci,id=vser \
		-chardev "socket,id=mux,path=$BATS_FILE_TMPDIR/vm/mux.sock,server=on,wait=off" \
		-device virtserialport,bus=vser.0,chardev=mux,name=upcall.mux
}

qmp() {
	timeout --kill-after=5 60 python3 "$GUEST_SRC/qmp.py" "$QMP_SOCK" "$@"
}

guest_shutdown() {
	local f
	[ -n "${GDIR:-}" ] || return 0
	for f in bridge qemu; do
		[ -s "$GDIR/$f.pid" ] && kill "$(cat "$GDIR/$f.pid")" 2>/dev/null
	done
	return 0
}

# guest_sh CMD: run CMD with sh -c in the guest; its output and status.
guest_sh() {
	python3 "$GUEST_SRC/bridge.py" exec --sock "$GEXEC" "$*"
}

# guest_wait SECONDS CMD: until CMD succeeds in the guest.
guest_wait() {
	local secs=$1 i
	shift
	for i in $(seq $((secs * 5))); do
		guest_sh "$@" >/dev/null && return 0
		sleep 0.2
	done
	return 1
}

gctl() {
	timeout --kill-after=5 60 "$UPCALLCTL" --vm "$GSOCK" --timeout 30 "$@"
}

graw() {
	python3 "$GUEST_SRC/upcall-raw.py" --vm "$GSOCK" "$@"
}

# The kernel log must not show any sign of a kernel bug.
assert_guest_kernel_clean() {
	run guest_sh "dmesg | grep -E 'BUG|Oops|WARNING|Call [Tt]race|general protection|RIP:|Internal error' || true"
	assert_success
	assert_output ''
}
