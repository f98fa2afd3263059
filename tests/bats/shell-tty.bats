#!/usr/bin/env bats
# upcallctl shell on a real terminal (terminal_helpers.bash).

load helpers
load terminal_helpers

setup() {
	umask 022	# inventories written here pass the tools' trust rule (no g+w)
	terminal_setup
	export HOME=$BATS_TEST_TMPDIR/home XDG_STATE_HOME=$BATS_TEST_TMPDIR/state \
		XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	mkdir -p "$HOME"
}

teardown() {
	terminal_teardown
	stop_stub
}

# start_shell [OPTIONS...]: the shell on the stub in a new terminal.
start_shell() {
	local cmd
	printf -v cmd '%q ' env HOME="$HOME" XDG_STATE_HOME="$XDG_STATE_HOME" \
		XDG_CONFIG_HOME="$XDG_CONFIG_HOME" TERM=xterm INPUTRC=/dev/null "$UPCALLCTL" --vm "$SOCK" "$@"
	new_terminal "$cmd; echo \"[shell exited \$?]\"; sleep 60"
	wait_screen --regexp "^upcall $SOCK \[(dis)?connected\]>$"
}

@test "shell tty: prompt shows target and session state" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	assert_equal "$(last_line)" "upcall $SOCK [disconnected]>"
	keys 'cpu add 1' Enter
	wait_screen "added 1 vCPU (APIC ID 1)"
	wait_screen "upcall $SOCK [connected]>"
	keys 'quit' Enter
	wait_screen "[shell exited 0]"
}

@test "shell tty: no command on a terminal starts the shell" {
	start_stub
	new_terminal "env HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' '$UPCALLCTL' --vm '$SOCK'"
	wait_screen "upcall $SOCK [disconnected]>"
}

@test "shell tty: tab completes commands, verbs, options and their values" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	# each completion appends a space: the next word follows directly
	keys 'cp' Tab 'a' Tab
	wait_screen "> cpu add"
	keys '1 --apic-i' Tab '2 --ar' Tab 'x' Tab
	wait_screen "> cpu add 1 --apic-ids 2 --arch x86_64"
	keys -l -- '-o j'
	keys Tab
	wait_screen "> cpu add 1 --apic-ids 2 --arch x86_64 -o json"
	keys Enter
	wait_screen '"message":"added 1 vCPU (APIC ID 2)"'
	keys 'deb' Tab 'o' Tab
	wait_screen "> debug o"
	keys 'n' Enter 'ra' Tab 'QUERY_C' Tab 0
	wait_screen "> raw QUERY_CPUS 0"
	keys C-u
	assert_equal "$(stub_state cpus)" "0,2"
}

@test "shell tty: tab completes VM names from the inventory" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  alpha:\n    target: %s\n  beta:\n    target: /nonexistent/beta.sock\n' \
		"$SOCK" > "$XDG_CONFIG_HOME/upcall/vms.yaml"
	start_shell
	keys 'ping --vm b' Tab
	wait_screen "> ping --vm beta"
	keys C-u 'connect al' Tab Enter
	wait_screen --regexp "^connected to unix:$SOCK \(handshake [0-9.]+ ms\)$"
	wait_screen "upcall alpha [connected]>"
}

@test "shell tty: file names complete; ~user expands from the password database" {
	local user home
	user=$(id -un)
	home=$(getent passwd "$user" | cut -d: -f6)
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p "$HOME/inventories"
	start_shell
	keys "ping --config $HOME/inv" Tab
	wait_screen "> ping --config $HOME/inventories/"
	# Meta-~ is readline's tilde-expand: getpwnam() of the user
	keys C-u "ping --config ~$user" M-~
	wait_screen "> ping --config $home"
	keys C-u
}

@test "shell tty: history is recalled with Up after a restart" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	keys 'cpu add 1 --apic-ids 3' Enter
	wait_screen "added 1 vCPU (APIC ID 3)"
	keys 'status' Enter
	wait_screen "state: connected"
	keys C-d
	wait_screen "[shell exited 0]"
	assert [ -s "$XDG_STATE_HOME/upcall/history" ]

	start_shell
	keys Up Up
	wait_screen "> cpu add 1 --apic-ids 3"
	keys Down
	wait_screen "> status"
}

@test "shell tty: debug on shows every frame with its header decoded" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	keys 'cpu add 1' Enter
	wait_screen "added 1 vCPU (APIC ID 1)"
	keys 'debug on' Enter 'cpu del 1' Enter
	wait_screen "removed 1 vCPU (APIC ID 1)"
	wait_screen ">> 00014d44 02010000 02000000 00000000 | magic ok, size 258, DEL_CPU"
	wait_screen "<< 00014d44 04000000 02000000 00000000 | magic ok, size 4, DEL_CPU, ret 0"
	assert_equal "$(stub_state cpus)" "0"
}

@test "shell tty: Ctrl-C abandons a request the guest never answers" {
	start_stub --boot-vcpus 1 --max-vcpus 8 --fault no-reply
	start_shell --timeout 30
	keys 'cpu add 1' Enter
	wait_stub_requests 1	# the guest has the request and will not answer
	local start=$SECONDS
	keys C-c
	wait_screen --regexp "interrupted waiting for the reply to [A-Z_]+$"
	wait_screen --regexp "^upcall $SOCK \[disconnected\]>$"
	# well before the 30 s timeout
	[ $((SECONDS - start)) -lt 15 ] || fail "Ctrl-C took $((SECONDS - start)) s"
	stop_stub
	start_stub --boot-vcpus 1 --max-vcpus 8
	keys 'cpu add 1 --apic-ids 2' Enter
	wait_screen "added 1 vCPU (APIC ID 2)"
	# Ctrl-C at the prompt drops the line and stays in the shell
	keys 'cpu del 1' C-c
	wait_screen --regexp "^upcall $SOCK \[connected\]>$"
	keys 'status' Enter
	wait_screen "requests sent: $(stub_state requests)"
}

@test "shell tty: reconnects after the guest restarts" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	keys 'cpu add 1' Enter
	wait_screen "added 1 vCPU (APIC ID 1)"
	stop_stub
	start_stub --boot-vcpus 2 --max-vcpus 8
	keys 'cpu add 1 --apic-ids 2' Enter
	wait_screen "connection to unix:$SOCK was closed by the guest; reconnected"
	wait_screen "added 1 vCPU (APIC ID 2)"
	assert_equal "$(stub_state cpus)" "0,1,2"
	stop_stub
	keys 'status' Enter
	wait_screen "connection to unix:$SOCK was closed by the guest; could not reconnect: "
	wait_screen "state: disconnected"
	start_stub --boot-vcpus 1 --max-vcpus 8
	keys 'connect' Enter
	wait_screen --regexp "connected to unix:$SOCK \(handshake [0-9.]+ ms\)"
	wait_screen "upcall $SOCK [connected]>"
}

@test "shell tty: usage errors point to shell lines, not to upcallctl --help" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	keys 'cpu add' Enter
	wait_screen "cpu add: missing vCPU count N (see 'help cpu add')"
	keys 'cpu add 1 --bogus' Enter
	wait_screen "cpu add: unknown option \"--bogus\" (see 'help cpu add')"
	keys 'cpux' Enter
	wait_screen "did you mean \"cpu\"? (see 'help')"
	keys 'connect a b' Enter
	wait_screen "connect: Too many arguments (see 'help connect')"
	run screen
	refute_output --partial "--help'"
	refute_output --partial "upcallctl cpu add"
	assert_equal "$(stub_state requests)" "0"
}

@test "shell tty: with no target, an error says to connect" {
	local cmd
	printf -v cmd '%q ' env -u UPCALL_VM HOME="$HOME" XDG_STATE_HOME="$XDG_STATE_HOME" \
		XDG_CONFIG_HOME="$XDG_CONFIG_HOME" TERM=xterm INPUTRC=/dev/null "$UPCALLCTL" shell
	new_terminal "$cmd"
	wait_screen "upcall (no VM) [disconnected]>"
	keys 'ping' Enter
	wait_screen "no VM given: use 'connect TARGET' or --vm TARGET on the line"
}

@test "shell tty: a line's own --vm leaves the prompt and status true" {
	local other=$BATS_TEST_TMPDIR/other.sock
	start_stub --boot-vcpus 1 --max-vcpus 8
	"$STUB" --socket "$other" --state-file "$BATS_TEST_TMPDIR/other.state" \
		--pid-file "$BATS_TEST_TMPDIR/other.pid" 3>&- 2>/dev/null &
	OTHER_PID=$!
	start_shell
	keys 'cpu add 1' Enter
	wait_screen "upcall $SOCK [connected]>"
	keys "ping --vm $other" Enter
	wait_screen "unix:$other: device manager answered in"
	# the session went to the other VM: the prompt's VM is not connected
	wait_screen --regexp "^upcall $SOCK \[disconnected\]>$"
	keys 'status' Enter
	wait_screen "state: disconnected"
	wait_screen --regexp "^last round trip: [0-9]+\.[0-9]{3} ms, 'ping --vm $other' to unix:$other, exit 0 \(done\)$"
	keys 'cpu add 1' Enter
	wait_screen "added 1 vCPU (APIC ID 2)"
	wait_screen --regexp "^upcall $SOCK \[connected\]>$"
	assert_equal "$(stub_state cpus)" "0,1,2"
	kill "$OTHER_PID"
}

@test "shell tty: status shows the last round trip, help raw the types and payloads" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	start_shell
	keys 'status' Enter
	wait_screen "last round trip: none yet"
	keys 'cpu add 1' Enter
	wait_screen "added 1 vCPU (APIC ID 1)"
	keys 'status' Enter
	wait_screen --regexp "^last round trip: [0-9]+\.[0-9]{3} ms, 'cpu add 1' to unix:$SOCK, exit 0 \(done\)$"
	keys 'help raw' Enter
	wait_screen "TYPE is a name or a number (decimal or 0x...); the payload size a guest"
	wait_screen --regexp "^  ADD_MEM +0x3 +16 bytes  base \(8\), size \(8\)$"
	wait_screen --regexp "^  ADD_CPU +0x1 +258 bytes  count \(1\), APIC version \(1\), APIC IDs \(256, unused 0\)$"
	wait_screen --regexp "^  QUERY_CPUS +0x100 +0 bytes  none; the reply lists the online CPUs$"
	wait_screen "HEX words are the payload, appended in order"
	# the example, verbatim
	keys 'raw ADD_MEM 0000000001000000 0000000800000000' Enter
	wait_screen "reply ADD_MEM (0x3), msg_size 0, ret 0 (ok)"
	assert_equal "$(stub_state mem)" "0x100000000+0x8000000"
	keys 'status' Enter
	wait_screen --regexp "^last round trip: [0-9]+\.[0-9]{3} ms, 'raw ADD_MEM 0000000001000000 0000000800000000' to unix:$SOCK, exit 0 \(done\)$"
}

@test "shell tty: --vm @ completes group names; a name a command would refuse is not offered" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  alpha:\n    target: %s\n  "bad\\e[31mname":\n    target: /nonexistent/b.sock\ngroups:\n  webfarm: [alpha]\n' \
		"$SOCK" > "$XDG_CONFIG_HOME/upcall/vms.yaml"
	chmod 600 "$XDG_CONFIG_HOME/upcall/vms.yaml"
	start_shell
	keys 'ping --vm @' Tab
	wait_screen "> ping --vm @webfarm"
	keys C-u 'ping --vm ' Tab
	wait_screen "> ping --vm alpha"
	run screen
	refute_output --partial "bad"	# not a name: refused by every command
	refute_output --partial "webfarm "	# groups only after @
}

@test "shell tty: completion reads no inventory a command would refuse, and never blocks on a FIFO" {
	start_stub --boot-vcpus 1 --max-vcpus 8
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  alpha:\n    target: %s\n' "$SOCK" > "$XDG_CONFIG_HOME/upcall/vms.yaml"
	chmod 666 "$XDG_CONFIG_HOME/upcall/vms.yaml"	# others could have written it
	start_shell
	keys 'ping --vm al' Tab
	sleep 0.5
	assert_equal "$(last_line)" "upcall $SOCK [disconnected]> ping --vm al"
	keys C-u
	rm "$XDG_CONFIG_HOME/upcall/vms.yaml"
	mkfifo "$XDG_CONFIG_HOME/upcall/vms.yaml"
	keys 'ping --vm al' Tab
	sleep 0.5
	keys C-u 'status' Enter
	wait_screen "state: disconnected"	# the shell still answers
}

@test "shell tty: ~user expands through NSS, not from /etc/passwd alone" {
	# A user known only to an NSS module: "nobody", taken out of
	# /etc/passwd in a mount namespace, is still given by nss-systemd.
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null ||
		skip "needs root and unshare for a private /etc/passwd"
	grep -v '^nobody:' /etc/passwd >"$BATS_TEST_TMPDIR/passwd"
	local ns="unshare -m sh -c 'mount --bind $BATS_TEST_TMPDIR/passwd /etc/passwd && exec \"\$0\" \"\$@\"'"
	run sh -c "$ns getent passwd nobody"
	[ "$status" = 0 ] || skip "no NSS module but files gives the user nobody here"
	assert_output --regexp '^nobody:[^:]*:[0-9]+:[0-9]+:[^:]*:/:'
	start_stub --boot-vcpus 1 --max-vcpus 8
	local cmd
	printf -v cmd '%q ' env HOME="$HOME" XDG_STATE_HOME="$XDG_STATE_HOME" \
		XDG_CONFIG_HOME="$XDG_CONFIG_HOME" TERM=xterm INPUTRC=/dev/null "$UPCALLCTL" --vm "$SOCK"
	new_terminal "$ns $cmd"
	wait_screen "upcall $SOCK [disconnected]>"
	keys "ping --config ~nobody" M-~
	wait_screen --regexp "> ping --config /$"
	keys C-u
}
