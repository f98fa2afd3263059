#!/usr/bin/env bats
# zsh completion in a real zsh on a real terminal (terminal_helpers.bash):
# `zsh -i` with compinit and completions/ on its fpath.  Commands are
# compared with each binary's real --help.
load man_helpers
load terminal_helpers

setup() {
	umask 022	# inventories written here pass the tools' trust rule (no g+w)
	command -v zsh >/dev/null || skip "zsh is not installed (scripts/deps test)"
	terminal_setup
	export ZDOTDIR=$BATS_TEST_TMPDIR/zsh XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	mkdir -p "$ZDOTDIR" "$XDG_CONFIG_HOME/upcall"
	cat >"$ZDOTDIR/.zshrc" <<-EOF
		fpath=($BATS_TEST_DIRNAME/../../completions \$fpath)
		autoload -Uz compinit && compinit -u -d $ZDOTDIR/.zcompdump
		PATH=$B:\$PATH
		PS1='%% '
	EOF
	printf 'vms:\n  alpha:\n    target: /nonexistent/a.sock\n  beta:\n    target: /nonexistent/b.sock\n' \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	new_terminal "env TERM=xterm zsh -i"
	wait_screen --regexp '^%$'
}

teardown() {
	terminal_teardown
}

# type_line TEXT: a fresh command line with TEXT, then Tab.
type_line() {
	keys C-u
	keys -l -- "$1"
	keys Tab
}

@test "zsh completion: command words, then the command's options" {
	type_line 'upcallctl cp'
	wait_screen --regexp '^% upcallctl cpu$'
	keys 'a' Tab
	wait_screen --regexp '^% upcallctl cpu add$'
	keys -l -- '--apic-i'
	keys Tab
	wait_screen --regexp '^% upcallctl cpu add --apic-ids$'
	type_line 'vcpuctl set-c'
	wait_screen --regexp '^% vcpuctl set-count$'
	type_line 'upcallctl pci l'
	wait_screen --regexp '^% upcallctl pci list$'
}

@test "zsh completion: every command of --help is offered" {
	local b c
	for b in upcallctl vcpuctl memctl; do
		type_line "$b "
		for c in $("$B/$b" --help | help_cmds | awk '{ print $1 }' | sort -u); do
			wait_screen --regexp "(^| )$c( |$)"
		done
	done
}

@test "zsh completion: option values by kind" {
	type_line 'upcallctl -o '
	wait_screen --regexp '^json +text$'
	type_line 'upcallctl --arch '
	wait_screen --regexp '^aarch64 +x86_64$'
	type_line 'upcall-stub --fault no-r'
	wait_screen --regexp '^% upcall-stub --fault no-reply$'
}

@test "zsh completion: --vm offers inventory names, then sockets" {
	type_line 'upcallctl --vm '
	wait_screen --regexp '^alpha +beta +unix: +vsock:$'
	type_line 'upcallctl --vm=al'
	wait_screen --regexp '^% upcallctl --vm=alpha$'
	printf 'vms:\n  gamma:\n    target: /nonexistent/g.sock\n' >"$BATS_TEST_TMPDIR/other.yaml"
	type_line "memctl --config $BATS_TEST_TMPDIR/other.yaml -m g"
	wait_screen --regexp -- "-m gamma$"
	# a socket, next to a file of the same prefix that is not one
	mkdir "$BATS_TEST_TMPDIR/vms"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$BATS_TEST_TMPDIR/vms/vm1.sock"
	touch "$BATS_TEST_TMPDIR/vms/vm1.sock.txt"
	type_line "upcallctl --vm unix:$BATS_TEST_TMPDIR/vms/vm"
	wait_screen --regexp -- "--vm unix:$BATS_TEST_TMPDIR/vms/vm1\\.sock$"
}

@test "zsh completion: --vm @ offers group names; nothing from a file a command would refuse" {
	printf 'vms:\n  alpha:\n    target: /nonexistent/a.sock\ngroups:\n  webfarm: [alpha]\n  dbs: [alpha]\n' \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	chmod 600 "$XDG_CONFIG_HOME/upcall/vms.yaml"
	type_line 'upcallctl --vm @w'
	wait_screen --regexp '^% upcallctl --vm @webfarm$'
	type_line 'vcpuctl --vm=@d'
	wait_screen --regexp '^% vcpuctl --vm=@dbs$'
	chmod 666 "$XDG_CONFIG_HOME/upcall/vms.yaml"
	type_line 'upcallctl --vm al'
	sleep 1
	wait_screen --regexp '^% upcallctl --vm al$'
	rm "$XDG_CONFIG_HOME/upcall/vms.yaml"
	mkfifo "$XDG_CONFIG_HOME/upcall/vms.yaml"
	type_line 'upcallctl --vm al'
	sleep 1
	keys C-u
	keys -l -- 'echo still here'
	keys Enter
	wait_screen --regexp '^still here$'
}
