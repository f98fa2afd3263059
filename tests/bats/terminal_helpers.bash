# A real terminal for the tests: tmux runs a program, send-keys types, and
# capture-pane shows what the operator would see.  Call terminal_setup from
# setup and terminal_teardown from teardown.

terminal_setup() {
	command -v tmux >/dev/null || skip "tmux is not installed (scripts/deps test)"
	TMUX_SOCKS=()
	export TMUX_TMPDIR=$BATS_TEST_TMPDIR	# the servers' sockets go with the test
}

terminal_teardown() {
	local s
	for s in "${TMUX_SOCKS[@]}"; do
		tmux -L "$s" kill-server 2>/dev/null || true
	done
}

# new_terminal COMMAND: a fresh 200x50 terminal (its own tmux server) running it.
new_terminal() {
	TMUX_SOCK=upcall-term-$$-$BATS_TEST_NUMBER-${#TMUX_SOCKS[@]}
	TMUX_SOCKS+=("$TMUX_SOCK")
	tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -x 200 -y 50 "$1"
}

keys() {
	tmux -L "$TMUX_SOCK" send-keys "$@"
}

screen() {
	tmux -L "$TMUX_SOCK" capture-pane -p | sed -e '/^$/d'
}

# wait_screen [--regexp] [--] TEXT: poll the screen until TEXT appears (10 s).
wait_screen() {
	local grep_opt=-F i
	[ "$1" = --regexp ] && { grep_opt=-E; shift; }
	[ "$1" = -- ] && shift
	for i in $(seq 200); do
		screen | grep -q $grep_opt -- "$1" && return 0
		sleep 0.05
	done
	screen >&2
	fail "not on the screen after 10 s: $1"
}

# The screen's last line, i.e. the prompt and what is being typed.
last_line() {
	screen | tail -n 1
}
