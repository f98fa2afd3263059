# Helpers for the man page tests: read options, commands and exit codes out
# of --help text and out of the mdoc sources, one item a line, sorted.
load helpers

MAN=$BATS_TEST_DIRNAME/../../man
BINS="upcallctl vcpuctl memctl upcall-stub"

# Options of an argp --help text on stdin; stops at " Global options:" when
# asked to, so a command's own options can be told from the global ones.
help_opts() {
	local stop=${1:-}
	awk -v stop="$stop" 'stop && /^ Global options:/ { exit } { print }' |
		sed -nE 's/^  (-[^ ,]), (--[a-z][a-z-]*).*/\1\n\2/p; s/^      (--[a-z][a-z-]*).*/\1/p' |
		sort -u
}

# Commands of a top-level --help: the lowercase words (one or two) that
# start each line of the "Commands:" list.
help_cmds() {
	awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print }' |
		cmd_words
}

# "  cpu add N     Bring..." -> "cpu add"
cmd_words() {
	awk '{ sub(/^ +/, ""); sub(/  .*/, ""); n = 0; out = ""
	       for (i = 1; i <= NF && n < 2; i++) {
		       if ($i !~ /^[a-z][a-z-]*$/) break
		       out = out (n++ ? " " : "") $i }
	       print out }' | sort -u
}

# Exit codes listed after "Exit status:" in a --help text: "N meaning"
# after a ";" or ":", or "else N".
help_exits() {
	tr '\n' ' ' | sed -n 's/.*Exit status: //p' | grep -oE '(^|; |: |else )[0-9]+ ?' |
		grep -oE '[0-9]+' | sort -nu
}

# The .It lines of man page $1 in section $2 (and, if given, the
# subsection whose command words are $3), on stdout.
man_items() {
	awk -v sh="$2" -v cmd="${3-}" -v anyss="${3+0}" '
		function words(s,   n, out, i, w) {
			n = split(s, w, " "); out = ""
			for (i = 1; i <= n && i <= 2; i++) {
				if (w[i] !~ /^[a-z][a-z-]*$/) break
				out = out (i > 1 ? " " : "") w[i]
			}
			return out
		}
		/^\.Sh / { cur = substr($0, 5); ss = ""; next }
		/^\.Ss / { ss = words(substr($0, 5)); next }
		/^\.It / && cur == sh && (anyss == "" || ss == cmd) { print }
	' "$1"
}

# Options documented (as .It Fl ...) in man page $1, section $2 [command $3].
man_opts() {
	man_items "$@" | awk '{ for (i = 2; i < NF; i++) if ($i == "Fl") {
		o = $(i + 1); gsub(/\\&/, "", o); print "-" o } }' | sort -u
}

# Command subsections (.Ss) of the COMMANDS section of man page $1.
man_cmds() {
	awk '/^\.Sh / { on = ($0 == ".Sh COMMANDS"); next }
	     on && /^\.Ss / { print "  " substr($0, 5) }' "$1" | cmd_words
}

# Exit codes of the EXIT STATUS section of man page $1.
man_exits() {
	man_items "$1" "EXIT STATUS" | awk '$2 ~ /^[0-9]+$/ { print $2 }' | sort -n
}

# Names of .It Ic / .It Cm items in section $2 [command $3] of man page $1.
man_words() {
	man_items "$@" | awk '$2 == "Ic" || $2 == "Cm" { print $3 }' | sort -u
}

# assert_same WHAT "from help" "from man": equal lists, else the diff.
assert_same() {
	local what=$1 help=$2 man=$3
	[ "$help" = "$man" ] && return 0
	fail "$what: --help and man page differ (< only in --help, > only in the man page):
$(diff <(printf '%s\n' "$help") <(printf '%s\n' "$man") | grep '^[<>]')"
}

makefile_version() {
	sed -n 's/^VERSION := //p' "$BATS_TEST_DIRNAME/../../Makefile"
}
