#!/usr/bin/env bats
# bash completion: source the script as bash-completion would, set
# COMP_WORDS/COMP_CWORD, call the function, look at COMPREPLY.  Commands and
# options are compared with each binary's real --help, so they cannot drift.
load man_helpers

COMPLETION=$BATS_TEST_DIRNAME/../../completions/upcallctl.bash

setup() {
	umask 022	# inventories written here pass the tools' trust rule (no g+w)
	[ -r /usr/share/bash-completion/bash_completion ] ||
		skip "bash-completion is not installed (scripts/deps test)"
	# bash_completion reads unset variables and returns non-zero here and there
	set +eu
	# shellcheck disable=SC1091
	source /usr/share/bash-completion/bash_completion
	# shellcheck disable=SC1090
	source "$COMPLETION"
	set -e
	export XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
}

# comp WORD...: complete the last word; REPLY gets COMPREPLY sorted, a line each.
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	# bash splits "--vm=x" into "--vm" "=" "x" with nothing between them
	COMP_LINE=$(printf '%s ' "$@" | sed 's/ = /=/g; s/ $//')
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	set +e
	_upcall_complete
	set -e
	REPLY=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort -u)
}

long_opts() { help_opts | grep -- '^--'; }

@test "completion: registered for every binary" {
	for b in $BINS; do
		run complete -p "$b"
		assert_success
		assert_output "complete -F _upcall_complete $b"
	done
}

@test "completion: first words are the commands of --help" {
	for b in upcallctl vcpuctl memctl; do
		comp "$B/$b" ""
		assert_same "$b first words" "$("$B/$b" --help | help_cmds | cut -d' ' -f1 | sort -u)" "$REPLY"
	done
	comp "$B/upcallctl" "mm"
	assert_equal "$REPLY" "mmio"
}

@test "completion: second words are the verbs of that object" {
	comp "$B/upcallctl" cpu ""
	assert_equal "$REPLY" "$(printf 'add\ndel\nlist')"
	comp "$B/upcallctl" hotplug ""
	assert_equal "$REPLY" "cpu"
	comp "$B/upcallctl" mmio l
	assert_equal "$REPLY" "list"
	# option values in front are not taken for words
	comp "$B/upcallctl" --vm web1 -t 5 --arch=x86_64 pci d
	assert_equal "$REPLY" "del"
	# a whole command gets no more words
	comp "$B/upcallctl" ping ""
	assert_equal "$REPLY" ""
	comp "$B/vcpuctl" get ""
	assert_equal "$REPLY" ""
}

@test "completion: options of every binary match its --help" {
	for b in $BINS; do
		comp "$B/$b" --
		assert_same "$b --" "$("$B/$b" --help | long_opts)" "$REPLY"
	done
}

@test "completion: options of every command match its 'COMMAND --help'" {
	local b c n=0
	for b in upcallctl vcpuctl memctl; do
		while IFS= read -r c; do
			# shellcheck disable=SC2086
			comp "$B/$b" $c --
			# shellcheck disable=SC2086
			assert_same "$b $c --" "$("$B/$b" $c --help | long_opts)" "$REPLY"
			n=$((n + 1))
		done < <("$B/$b" --help | help_cmds)
	done
	[ "$n" -ge 15 ]
	comp "$B/upcallctl" cpu add --apic-i
	assert_equal "$REPLY" "--apic-ids"
	comp "$B/memctl" --vm web1 sync --r
	assert_equal "$REPLY" "--ranges"
}

@test "completion: option values: --arch, --output, --fault" {
	comp "$B/upcallctl" --arch ""
	assert_equal "$REPLY" "$(printf 'aarch64\nx86_64')"
	comp "$B/vcpuctl" get -o ""
	assert_equal "$REPLY" "$(printf 'json\ntext')"
	comp "$B/memctl" --output = j
	assert_equal "$REPLY" "json"
	comp "$B/upcall-stub" -a a
	assert_equal "$REPLY" "aarch64"
	comp "$B/upcall-stub" --fault ""
	assert_same "upcall-stub --fault" \
		"$("$B/upcall-stub" --help | sed -nE 's/^    ([a-z][a-z-]*).*/\1/p' | sort -u)" "$REPLY"
	comp "$B/upcall-stub" -f no-r
	assert_equal "$REPLY" "no-reply"
	# a value typed by hand is not completed, and is not taken for a command
	comp "$B/upcallctl" --timeout ""
	assert_equal "$REPLY" ""
	comp "$B/upcallctl" --timeout 5 ""
	assert_equal "$REPLY" "$(comp "$B/upcallctl" ""; echo "$REPLY")"
}

@test "completion: --vm completes VM names from the inventory" {
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  web1:\n    target: /run/a.sock\n    memory:\n      block_size: 128M\n  web2:\n    target: vsock:3\n  db1:\n    target: vsock:4\n' \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	comp "$B/upcallctl" --vm w
	assert_equal "$REPLY" "$(printf 'web1\nweb2')"
	comp "$B/vcpuctl" -m ""
	assert_equal "$REPLY" "$(printf 'db1\nunix:\nvsock:\nweb1\nweb2')"
	comp "$B/memctl" list --vm = d
	assert_equal "$REPLY" "db1"
	# --config names the only inventory
	printf 'vms:\n    other:\n        target: vsock:9\n' >"$BATS_TEST_TMPDIR/inv.yaml"
	comp "$B/upcallctl" --config "$BATS_TEST_TMPDIR/inv.yaml" --vm ""
	assert_equal "$REPLY" "$(printf 'other\nunix:\nvsock:')"
	comp "$B/upcallctl" --config="$BATS_TEST_TMPDIR/inv.yaml" cpu add --vm o
	assert_equal "$REPLY" "other"
}

@test "completion: --vm @ completes the inventory's group names" {
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  web1:\n    target: vsock:3\n  db1:\n    target: vsock:4\ngroups:\n  web: [web1]\n  all: [web1, db1]\n' \
		>"$XDG_CONFIG_HOME/upcall/vms.yaml"
	chmod 600 "$XDG_CONFIG_HOME/upcall/vms.yaml"
	comp "$B/upcallctl" --vm @
	assert_equal "$REPLY" "$(printf '@all\n@web')"
	comp "$B/vcpuctl" --vm=@w
	assert_equal "$REPLY" "@web"
	comp "$B/upcallctl" --vm ""	# group names only after @
	assert_equal "$REPLY" "$(printf 'db1\nunix:\nvsock:\nweb1')"
}

@test "completion: no names from an inventory a command would refuse, and no wait on a FIFO" {
	mkdir -p "$XDG_CONFIG_HOME/upcall"
	printf 'vms:\n  web1:\n    target: vsock:3\n' >"$XDG_CONFIG_HOME/upcall/vms.yaml"
	chmod 666 "$XDG_CONFIG_HOME/upcall/vms.yaml"
	comp "$B/upcallctl" --vm w
	assert_equal "$REPLY" ""
	rm "$XDG_CONFIG_HOME/upcall/vms.yaml"
	mkfifo "$XDG_CONFIG_HOME/upcall/vms.yaml"
	# a read of the FIFO would wait for a writer for ever: bound it
	run timeout 10 bash -c 'source /usr/share/bash-completion/bash_completion 2>/dev/null
		source "$1"; COMP_WORDS=("$2" --vm w); COMP_CWORD=2; COMP_LINE="$2 --vm w"
		COMP_POINT=${#COMP_LINE}; _upcall_complete; echo "replies: ${#COMPREPLY[@]}"' \
		- "$COMPLETION" "$B/upcallctl"
	assert_success
	assert_output "replies: 0"
}

@test "completion: --vm completes socket paths, with or without unix:" {
	start_stub
	mkdir "$BATS_TEST_TMPDIR/sub"
	touch "$BATS_TEST_TMPDIR/regular"
	comp "$B/upcallctl" --vm "$BATS_TEST_TMPDIR/"
	# sockets and directories, not other files
	grep -qxF "$SOCK" <<<"$REPLY" || fail "no $SOCK in: $REPLY"
	grep -qxF "$BATS_TEST_TMPDIR/sub/" <<<"$REPLY" || fail "no sub/ in: $REPLY"
	! grep -qxF "$BATS_TEST_TMPDIR/regular" <<<"$REPLY" || fail "a regular file in: $REPLY"
	comp "$B/upcallctl" --vm "unix:$BATS_TEST_TMPDIR/vm"
	assert_equal "$REPLY" "unix:$SOCK"
	comp "$B/upcall-stub" --socket "$BATS_TEST_TMPDIR/reg"
	assert_equal "$REPLY" "$BATS_TEST_TMPDIR/regular"
	stop_stub
}
