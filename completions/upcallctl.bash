# bash completion for upcallctl, vcpuctl, memctl and upcall-stub
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Commands and options are not listed here: they are read from the binary's
# own --help (top-level for the commands, "COMMAND --help" for a command's
# options), once per binary and command per shell, so completion always
# matches the binary being completed, whichever version is installed.  What
# --help cannot say is kept here, keyed by the option's metavariable:
#   TARGET       VM names from the inventory (@GROUP names after @), socket
#                paths, unix:, vsock:
#   FILE, PATH   file names
#   ARCH         x86_64 aarch64
#   FORMAT       text json
#   NAME[=ARG]   upcall-stub's fault names, from its --help too
# Every other value (N, SIZE, ADDR, ...) is typed by hand.
# tests/bats/completion.bats checks all of it against the real --help.

# _upcall_help BIN [COMMAND WORDS...]: the --help text, cached.
_upcall_help()
{
	local key="$*"
	[[ -v _upcall_help_cache ]] || declare -gA _upcall_help_cache
	if [[ ! -v "_upcall_help_cache[$key]" ]]; then
		_upcall_help_cache[$key]=$(LC_ALL=C "$@" --help 2>/dev/null)
	fi
	printf '%s\n' "${_upcall_help_cache[$key]}"
}

# Options of a --help text on stdin, one a line as "LONG SHORT ARG" (SHORT
# and ARG "-" when there are none; an optional ARG is "?ARG").
_upcall_opts()
{
	sed -nE 's/^  -([^ ,]), --([a-z][a-z-]*)(\[?=[^ ]*)?.*/--\2 -\1 \3/p
		s/^      --([a-z][a-z-]*)(\[?=[^ ]*)?.*/--\1 - \2/p' |
		while read -r long short arg; do
			case $arg in
			"[="*) arg="?${arg:2:-1}" ;;	# optional: only as --opt=VALUE
			=*) arg=${arg:1} ;;
			esac
			printf '%s %s %s\n' "$long" "$short" "${arg:--}"
		done
}

# Command lines of a top-level --help: "cpu add", "ping", "set-count"...
_upcall_cmds()
{
	awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
	     on && /^  [a-z]/ { sub(/^ +/, ""); sub(/  .*/, ""); out = ""
		for (i = 1; i <= NF && i <= 2; i++) {
			if ($i !~ /^[a-z][a-z-]*$/) break
			out = out (i > 1 ? " " : "") $i }
		print out }'
}

# A file the tools would read as an inventory: a regular file (never a
# FIFO, which would block), owned by root or the user, not writable by group
# or others.  Completion offers nothing from a file a command would refuse.
_upcall_trusted()
{
	local owner mode
	[[ -f $1 && -r $1 ]] || return 1
	read -r owner mode < <(command stat -L -c '%u %a' -- "$1" 2>/dev/null) || return 1
	[[ $owner == 0 || $owner == "$EUID" ]] && ((!(8#$mode & 8#022)))
}

# _upcall_vm_names CONFIG [vms|groups]: the names of the inventory files
# (--config's, or the system's and the user's): the keys one level under
# "vms:", or under "groups:".
_upcall_vm_names()
{
	local config=$1 section=${2:-vms} f files=()
	if [[ -n $config ]]; then
		files=("$config")
	else
		files=(/etc/upcall/vms.yaml "${XDG_CONFIG_HOME:-$HOME/.config}/upcall/vms.yaml")
	fi
	for f in "${files[@]}"; do
		_upcall_trusted "$f" || continue
		awk -v s="$section" '$0 ~ "^" s ":[ \t]*$" { on = 1; ind = ""; next }
		     on && /^[^ \t#]/ { on = 0 }
		     on && /^[ \t]+[A-Za-z0-9._-]+:([ \t]|$)/ {
			lead = $0; sub(/[^ \t].*/, "", lead)
			if (ind == "") ind = lead
			if (lead != ind) next
			name = $0; sub(/^[ \t]+/, "", name); sub(/:.*/, "", name)
			print name }' "$f"
	done
}

# Socket files and directories matching $1 (a path prefix).
_upcall_sockets()
{
	local p
	while IFS= read -r p; do
		if [[ -d $p ]]; then
			printf '%s/\n' "$p"
		elif [[ -S $p ]]; then
			printf '%s\n' "$p"
		fi
	done < <(compgen -f -- "$1")
}

# _upcall_values ARG CUR CONFIG BIN: candidates for an option's value.
_upcall_values()
{
	local arg=$1 cur=$2 config=$3 bin=$4 prefix=""
	case $arg in
	TARGET)
		case $cur in
		unix:*)
			prefix=unix:
			cur=${cur#unix:}
			;&
		/* | .* | "~"*)
			cur=${cur/#\~/$HOME}
			_upcall_sockets "$cur" | sed "s|^|$prefix|"
			;;
		@*)
			compgen -P @ -W "$(_upcall_vm_names "$config" groups)" -- "${cur#@}"
			;;
		*)
			compgen -W "$(_upcall_vm_names "$config") unix: vsock:" -- "$cur"
			;;
		esac
		;;
	FILE | PATH)
		compgen -f -- "$cur"
		;;
	ARCH)
		compgen -W "x86_64 aarch64" -- "$cur"
		;;
	FORMAT)
		compgen -W "text json" -- "$cur"
		;;
	NAME*)
		compgen -W "$(_upcall_help "$bin" | sed -nE 's/^    ([a-z][a-z-]*).*/\1/p')" -- "$cur"
		;;
	esac
}

_upcall_complete()
{
	local cur prev words cword split=false
	if declare -F _init_completion >/dev/null; then
		_init_completion -s -n : || return
	else
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${words[cword]}
		prev=${words[cword - 1]}
	fi
	local bin=${words[0]} cmds opts config="" i w arg
	local -a cmd=()
	cmds=$(_upcall_help "$bin" | _upcall_cmds)
	opts=$(_upcall_help "$bin" | _upcall_opts)

	# The command words so far, and --config's file; skip option values.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == --config=* ]]; then
			config=${w#--config=}
		elif [[ $w == -* ]]; then
			arg=$(awk -v w="$w" '($1 == w || $2 == w) && $3 !~ /^[-?]/ { print $3 }' <<<"$opts")
			if [[ -n $arg ]]; then
				((i++))
				[[ $w == --config ]] && config=${words[i]}
			fi
		elif ((${#cmd[@]} < 2)) && grep -qx -- "${cmd[*]}${cmd[*]:+ }$w\( .*\)\{0,1\}" <<<"$cmds"; then
			cmd+=("$w")
		fi
	done
	if ((${#cmd[@]})) && grep -qx -- "${cmd[*]}" <<<"$cmds"; then
		# a whole command: its own options are in its --help
		opts=$(_upcall_help "$bin" "${cmd[@]}" | _upcall_opts)
	fi

	# An option's value: "--vm X", "-m X" or "--vm=X".
	if [[ $cur != -* || $split == true ]]; then
		arg=$(awk -v w="$prev" -v sp="$split" '($1 == w || $2 == w) &&
			$3 != "-" && ($3 !~ /^\?/ || sp == "true") { sub(/^\?/, "", $3); print $3 }' <<<"$opts")
		if [[ -n $arg ]]; then
			mapfile -t COMPREPLY < <(_upcall_values "$arg" "$cur" "$config" "$bin")
			if [[ ${COMPREPLY[*]} == */ || ${COMPREPLY[*]} == *: ]]; then
				compopt -o nospace 2>/dev/null || true
			fi
			return 0
		fi
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(awk '{ print $1 }' <<<"$opts")" -- "$cur")
		return 0
	fi

	# The next command word: a command's first word, or its second.
	if grep -qx -- "${cmd[*]}" <<<"$cmds" && ((${#cmd[@]})); then
		return 0	# a whole command: its arguments are typed by hand
	fi
	mapfile -t COMPREPLY < <(compgen -W "$(
		if ((${#cmd[@]})); then
			awk -v c="${cmd[0]}" '$1 == c && NF == 2 { print $2 }' <<<"$cmds"
		else
			awk '{ print $1 }' <<<"$cmds" | sort -u
		fi)" -- "$cur")
	return 0
}

complete -F _upcall_complete upcallctl vcpuctl memctl upcall-stub
