#!/usr/bin/env bats
# One grammar for the command line, the shell and its completion: the
# command words are where argp finds them.  Abbreviations, clusters,
# --opt=VALUE, "--", POSIXLY_CORRECT and argp's own --program-name read the
# same before the command word, after it, on a shell line and under Tab.

load helpers
load terminal_helpers
bats_require_minimum_version 1.5.0

setup() {
	start_stub --boot-vcpus 1 --max-vcpus 8
	export HOME=$BATS_TEST_TMPDIR/home XDG_STATE_HOME=$BATS_TEST_TMPDIR/state \
		XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	mkdir -p "$HOME"
}

teardown() {
	[ -z "${TMUX_SOCKS+x}" ] || terminal_teardown
	stop_stub
}

# shell_script LINE...: the lines through the shell in script mode.
shell_script() {
	printf '%s\n' "$@" > "$BATS_TEST_TMPDIR/ops.txt"
	run_bounded 20 "$UPCALLCTL" shell < "$BATS_TEST_TMPDIR/ops.txt"
}

@test "grammar: POSIXLY_CORRECT=1 still reads options after the command and its arguments" {
	POSIXLY_CORRECT=1 run "$UPCALLCTL" cpu add 1 --vm "$SOCK"
	assert_success
	assert_output "added 1 vCPU (APIC ID 1)"
	POSIXLY_CORRECT=1 run "$B/vcpuctl" set-count 3 -o json --vm "$SOCK"
	assert_success
	assert_output --partial '"ok":true'
	POSIXLY_CORRECT=1 run "$B/memctl" list --vm "$SOCK" -o json
	assert_success
	assert_output --partial '"command":"list","ok":true'
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "grammar: argp's --program-name is taken, joined or not, and names the program" {
	run "$UPCALLCTL" --program-name=vmtool --vm "$SOCK" cpu add 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 1)"
	run "$UPCALLCTL" --program-name vmtool --vm "$SOCK" cpu add
	assert_failure 64
	assert_output "vmtool cpu add: missing vCPU count N (see 'vmtool cpu add --help')"
	# abbreviated, and after the command word
	run "$UPCALLCTL" --vm "$SOCK" cpu add --prog /usr/bin/vmtool 1
	assert_success
	run "$UPCALLCTL" --program-name vmtool cpu add --help
	assert_success
	assert_line --index 0 "Usage: vmtool cpu add [OPTION...] N"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "grammar: abbreviated and clustered global options before the command, and --" {
	run "$UPCALLCTL" --vm="$SOCK" --time=2 --out json cpu add 1
	assert_success
	assert_output --partial '"command":"cpu add","ok":true'
	run "$UPCALLCTL" -nvt5 -m "$SOCK" cpu add 1
	assert_success
	assert_output --partial "would add"
	run "$UPCALLCTL" -t 2 --vm "$SOCK" -- cpu add 1
	assert_success
	assert_output "added 1 vCPU (APIC ID 2)"
	run "$UPCALLCTL" -vt 2 --vm "$SOCK" cpu list
	assert_success
	assert_line --partial "magic ok, size 0, QUERY_CPUS"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "grammar: before the command word only global options; getopt's refusals in one line" {
	run "$UPCALLCTL" --apic-ids 1 --vm "$SOCK" cpu add 1
	assert_failure 64
	assert_output "upcallctl: option \"--apic-ids\" is a command's: it goes after the command (see 'upcallctl --help')"
	run "$UPCALLCTL" --ver cpu list
	assert_failure 64
	assert_output "upcallctl: option '--ver' is ambiguous; possibilities: '--verbose' '--version' (see 'upcallctl --help')"
	run "$UPCALLCTL" --no-wait=1 --vm "$SOCK" ping
	assert_failure 64
	assert_output "upcallctl: option \"--no-wait\" takes no value (see 'upcallctl --help')"
	run "$UPCALLCTL" --vm "$SOCK" cpu add 1 -vt
	assert_failure 64
	assert_output "upcallctl cpu add: option \"-t\" needs a value (see 'upcallctl cpu add --help')"
	assert_equal "$(stub_state requests)" "0"
}

@test "grammar: the shell reads a line as the command line does" {
	POSIXLY_CORRECT=1 shell_script "cpu add 1 --vm $SOCK" "--prog=vmtool -vt5 --vm=$SOCK cpu list" \
		"--vm $SOCK -- cpu add 1" "--vm $SOCK status"
	assert_success
	assert_line "added 1 vCPU (APIC ID 1)"
	assert_line --partial "magic ok, size 0, QUERY_CPUS"
	assert_line "added 1 vCPU (APIC ID 2)"
	assert_line --regexp "^last round trip: .*'--vm .* -- cpu add 1' to unix:.*, exit 0 \\(done\\)$"
	assert_equal "$(stub_state cpus)" "0,1,2"
}

@test "grammar: shell completion after abbreviated, clustered and joined options" {
	terminal_setup
	local cmd
	printf -v cmd '%q ' env HOME="$HOME" XDG_STATE_HOME="$XDG_STATE_HOME" \
		XDG_CONFIG_HOME="$XDG_CONFIG_HOME" TERM=xterm INPUTRC=/dev/null "$UPCALLCTL" --vm "$SOCK"
	new_terminal "$cmd; echo \"[shell exited \$?]\"; sleep 60"
	wait_screen "upcall $SOCK [disconnected]>"
	# an abbreviation's value is not a command word
	keys -l -- '--ti 5 cp'
	keys Tab 'a' Tab
	wait_screen "> --ti 5 cpu add"
	keys C-u
	# a cluster ending in an option that takes a value: its values
	keys -l -- '-vo j'
	keys Tab
	wait_screen "> -vo json"
	keys C-u
	keys -l -- '--out j'
	keys Tab
	wait_screen "> --out json"
	keys C-u
	keys -l -- '--out=t'
	keys Tab
	wait_screen "> --out=text"
	keys C-u
	# --program-name's value is not the command word either
	keys -l -- '--program-name x cpu a'
	keys Tab
	wait_screen "> --program-name x cpu add"
	keys C-u
	keys -l -- '-t 2 -- cpu d'
	keys Tab
	wait_screen "> -t 2 -- cpu del"
	keys C-u 'quit' Enter
	wait_screen "[shell exited 0]"
}
