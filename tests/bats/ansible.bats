#!/usr/bin/env bats
# The Ansible collection upcall.tools (ansible/): built and installed from
# the tree as a user would, then driven by ansible-playbook over an
# inventory of several hosts.  Each host is local (ansible_connection=local)
# with its own VM inventory, state directory and stubs, passed through the
# environment keyword, as separate hypervisors would have them.
load helpers
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup_file() {
	command -v ansible-playbook >/dev/null || return 0
	local d=$BATS_FILE_TMPDIR
	mkdir -p "$d/collections" "$d/home"
	: >"$d/ansible.cfg"
	# ansible-core has no JSON stdout callback: this one writes every
	# task's result per host, and the recap, to $RESULTS.
	mkdir -p "$d/callbacks"
	cat >"$d/callbacks/results.py" <<-'EOF'
		import json, os
		from ansible.plugins.callback import CallbackBase

		class CallbackModule(CallbackBase):
		    CALLBACK_VERSION = 2.0
		    CALLBACK_TYPE = 'notification'
		    CALLBACK_NAME = 'results'
		    CALLBACK_NEEDS_ENABLED = True

		    def __init__(self):
		        super(CallbackModule, self).__init__()
		        self.results = {}

		    def _add(self, result, *args, **kwargs):
		        self.results.setdefault(result._host.get_name(), []).append(result._result)

		    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _add

		    def v2_playbook_on_stats(self, stats):
		        with open(os.environ['RESULTS'], 'w') as f:
		            json.dump({'results': self.results,
		                       'stats': dict((h, stats.summarize(h)) for h in stats.processed)},
		                      f, default=str)
	EOF
	# Ansible reads this config only, keeps its files here, and finds
	# the collection here.
	export ANSIBLE_CONFIG=$d/ansible.cfg ANSIBLE_HOME=$d/home \
		ANSIBLE_LOCAL_TEMP=$d/home/tmp ANSIBLE_REMOTE_TEMP=$d/home/remote \
		ANSIBLE_COLLECTIONS_PATH=$d/collections ANSIBLE_NOCOLOR=1 \
		ANSIBLE_CALLBACK_PLUGINS=$d/callbacks
	ansible-galaxy collection build "$TOP/ansible" --output-path "$d" >"$d/build.log" 2>&1 ||
		{ cat "$d/build.log" >&2; return 1; }
	ansible-galaxy collection install -p "$d/collections" "$d"/upcall-tools-*.tar.gz \
		>"$d/install.log" 2>&1 || { cat "$d/install.log" >&2; return 1; }
}

setup() {
	command -v ansible-playbook >/dev/null ||
		skip "ansible-core is not installed (scripts/deps test)"
	T=$BATS_TEST_TMPDIR
	HOSTS=$T/hosts.yml
	PLAY=$T/play.yml
	STUB_PIDS=()
	# ansible-core's own interpreter: no wrapper to start for each pick
	PY=/usr/bin/python3
	[ -x "$PY" ] || PY=python3
}

teardown() {
	local p
	for p in "${STUB_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# vm HOST NAME [STUB OPTIONS...]: VM NAME of hypervisor HOST, a stub on
# $T/HOST/NAME.sock with 8 possible vCPUs, 1 online.
vm() {
	mkdir -p "$T/$1"
	echo "$2" >>"$T/$1/vms"
	start_vm "$@"
}

start_vm() {
	local host=$1 name=$2 i
	shift 2
	rm -f "$T/$host/$name.pid"
	"$STUB" --socket "$T/$host/$name.sock" --state-file "$T/$host/$name.state" \
		--pid-file "$T/$host/$name.pid" "$@" 3>&- 2>>"$T/stubs.log" &
	STUB_PIDS+=($!)
	for i in $(seq 100); do
		[ -s "$T/$host/$name.pid" ] && return 0
		sleep 0.05
	done
	fail "upcall-stub $host/$name did not start"
}

# restart_vm HOST NAME [STUB OPTIONS...]: the VM booted anew (a new socket).
restart_vm() {
	local pid
	pid=$(cat "$T/$1/$2.pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	start_vm "$@"
}

# dead_vm HOST NAME: in HOST's inventory, but nothing listens.
dead_vm() {
	mkdir -p "$T/$1"
	echo "$2" >>"$T/$1/vms"
}

# hosts: the Ansible inventory of every HOST given to vm, and each host's
# own VM inventory (groups: web, its VMs named web*, and all) read through
# XDG_CONFIG_HOME, as an operator's ~/.config/upcall/vms.yaml would be.
hosts() {
	local h v
	{
		echo "all:"
		echo "  vars: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}"
		echo "  hosts:"
	} >"$HOSTS"
	for h in "$T"/*/vms; do
		h=$(basename "$(dirname "$h")")
		mkdir -p "$T/$h/config/upcall"
		{
			echo "vms:"
			while read -r v; do
				echo "  $v:"
				echo "    target: $T/$h/$v.sock"
				echo "    max_vcpu_count: 8"
				echo "    memory: {block_size: 128M, regions: [{base: 0x100000000, size: 4G}]}"
			done <"$T/$h/vms"
			echo "groups:"
			echo "  all: [$(paste -sd, "$T/$h/vms")]"
			grep -q '^web' "$T/$h/vms" && echo "  web: [$(grep '^web' "$T/$h/vms" | paste -sd,)]"
		} >"$T/$h/config/upcall/vms.yaml"
		chmod 600 "$T/$h/config/upcall/vms.yaml"
		echo "    $h: {upcall_env: {PATH: '$B:$PATH', UPCALL_STATE_DIR: '$T/$h/state', XDG_CONFIG_HOME: '$T/$h/config'}}" >>"$HOSTS"
	done
}

# playbook: one play over every host, its tasks from stdin.
playbook() {
	{
		echo "- hosts: all"
		echo "  gather_facts: false"
		echo "  environment: \"{{ upcall_env }}\""
		echo "  tasks:"
		sed 's/^/    /'
	} >"$PLAY"
}

# play [ansible-playbook OPTIONS...]: run $PLAY; the results in $T/out.json.
play() {
	rm -f "$T/out.json"
	run --separate-stderr timeout 120 env RESULTS="$T/out.json" ANSIBLE_CALLBACKS_ENABLED=results \
		ansible-playbook -i "$HOSTS" "$PLAY" "$@"
}

# pick EXPR: a Python expression over the last play's results: R[HOST][N]
# is what task N (from 0) returned on HOST, S[HOST] the host's recap.
pick() {
	"$PY" - "$T/out.json" "$1" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		R, S = d['results'], d['stats']
		v = eval(sys.argv[2])
		print(v if isinstance(v, str) else json.dumps(v))
	EOF
}

# cpus HOST VM, mem HOST VM: what that stub's guest has online.
cpus() { sed -n 's/^cpus: //p' "$T/$1/$2.state"; }
mem() { sed -n 's/^mem: \{0,1\}//p' "$T/$1/$2.state"; }

@test "ansible-doc renders each module without warnings; the collection's version is the tools'" {
	local m
	run --separate-stderr ansible-doc -t module upcall.tools.vcpus upcall.tools.memory upcall.tools.info
	assert_success
	assert_equal "$stderr" ""
	refute_output --partial "WARNING"
	for m in VCPUS MEMORY INFO; do assert_line --partial "> UPCALL.TOOLS.$m "; done
	# each page has its options, examples and return values
	assert_equal "$(grep -c '^OPTIONS (= is mandatory):$' <<<"$output")" 3
	assert_equal "$(grep -c '^= vm$' <<<"$output")" 3
	assert_equal "$(grep -c '^EXAMPLES:$' <<<"$output")" 3
	assert_equal "$(grep -c '^RETURN VALUES:$' <<<"$output")" 3
	assert_equal "$(grep -c '^- vms$' <<<"$output")" 3
	assert_line "= count"
	assert_line "= size"
	assert_line "- base"
	run --separate-stderr ansible-doc -t module -l upcall.tools
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 3
	run sed -n 's/^version: //p' "$TOP/ansible/galaxy.yml"
	assert_output "$(sed -n 's/^VERSION := //p' "$TOP/Makefile")"
}

@test "vcpus on several hosts: the first run changes what it should and says so, the second changes nothing" {
	vm h1 web1
	vm h1 web2 --no-query
	vm h1 db1
	vm h2 web1 --boot-vcpus 2
	hosts
	playbook <<-'EOF'
		- upcall.tools.vcpus:
		    vm: "@web"
		    count: 4
	EOF
	play
	assert_success
	assert_equal "$(pick 'S["h1"]["changed"], S["h2"]["changed"]')" "[1, 1]"
	for v in web1 web2; do assert_equal "$(cpus h1 $v)" "0,1,2,3"; done
	assert_equal "$(cpus h1 db1)" "0"
	assert_equal "$(cpus h2 web1)" "0,1,2,3"
	# before and after per VM, and where "before" came from
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["before"]')" \
		'{"count": 1, "apic_ids": [0], "max": 8, "source": "guest"}'
	assert_equal "$(pick 'R["h1"][0]["vms"]["web2"]["before"]["source"]')" "record"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["after"]')" '{"count": 4, "apic_ids": [0, 1, 2, 3]}'
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["added"]')" "[1, 2, 3]"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["msg"]')" "added 3 vCPUs (APIC IDs 1, 2, 3)"
	assert_equal "$(pick 'R["h2"][0]["vms"]["web1"]["added"], R["h2"][0]["vms"]["web1"]["changed"]')" \
		"[[2, 3], true]"
	assert_equal "$(pick 'sorted(R["h1"][0]["vms"])')" '["web1", "web2"]'

	play
	assert_success
	assert_equal "$(pick 'S["h1"]["changed"], S["h2"]["changed"], S["h1"]["ok"]')" "[0, 0, 1]"
	assert_equal "$(pick '[r["changed"] for r in R["h1"][0]["vms"].values()]')" "[false, false]"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web2"]["after"]["apic_ids"]')" "[0, 1, 2, 3]"
	# without --diff, no diff comes back
	assert_equal "$(pick '"diff" in R["h1"][0]')" "false"

	# down again: the highest go, and the record-only VM follows
	sed -i 's/count: 4/count: 2/' "$PLAY"
	play
	assert_success
	assert_equal "$(pick 'R["h1"][0]["vms"]["web2"]["removed"]')" "[3, 2]"
	for v in web1 web2; do assert_equal "$(cpus h1 $v)" "0,1"; done
}

@test "vcpus check mode sends nothing and predicts; --diff shows each VM before and after" {
	vm h1 web1 --boot-vcpus 4
	vm h2 web1
	hosts
	playbook <<-'EOF'
		- upcall.tools.vcpus:
		    vm: web1
		    count: 2
	EOF
	play --check --diff
	assert_success
	assert_equal "$(pick 'S["h1"]["changed"], S["h2"]["changed"]')" "[1, 1]"
	assert_equal "$(cpus h1 web1)" "0,1,2,3"
	assert_equal "$(cpus h2 web1)" "0"
	# a removal is known to the ID, an addition only by count
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["after"]')" '{"count": 2, "apic_ids": [0, 1]}'
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["removed"]')" "[3, 2]"
	assert_equal "$(pick 'R["h2"][0]["vms"]["web1"]["after"]')" '{"count": 2, "apic_ids": null}'
	assert_equal "$(pick 'R["h1"][0]["diff"]')" \
		'{"before": "web1: 4 vCPUs (APIC IDs 0, 1, 2, 3)\n", "after": "web1: 2 vCPUs (APIC IDs 0, 1)\n"}'
	# as an operator reads it
	run --separate-stderr timeout 120 ansible-playbook -i "$HOSTS" "$PLAY" --check --diff --limit h2
	assert_success
	assert_line -- "-web1: 1 vCPU (APIC IDs 0)"
	assert_line -- "+web1: 2 vCPUs (new APIC IDs picked from the topology when sent)"
	assert_line --regexp '^h2 +: ok=1 +changed=1 +unreachable=0 +failed=0'
	assert_equal "$(cpus h2 web1)" "0"
}

@test "a dead VM fails only its own host, with the tool's message; its other VMs are still served" {
	vm h1 web1
	vm h1 web2
	vm h3 web1
	dead_vm h3 web2
	hosts
	playbook <<-'EOF'
		- upcall.tools.vcpus:
		    vm: "@web"
		    count: 2
	EOF
	play
	assert_failure 2
	assert_equal "$(pick 'S["h1"]["failures"], S["h3"]["failures"]')" "[0, 1]"
	assert_equal "$(cpus h1 web1),$(cpus h1 web2)" "0,1,0,1"
	assert_equal "$(pick 'R["h3"][0]["msg"]')" \
		"1 of 2 VMs failed: web2: failed to connect to $T/h3/web2.sock: No such file or directory"
	assert_equal "$(pick 'R["h3"][0]["rc"]')" "3"
	assert_equal "$(pick 'R["h3"][0]["vms"]["web2"]["rc"], R["h3"][0]["vms"]["web2"]["failed"]')" "[69, true]"
	# the live VM of the failed host got its vCPU, and the result says so
	assert_equal "$(cpus h3 web1)" "0,1"
	assert_equal "$(pick 'R["h3"][0]["changed"], R["h3"][0]["vms"]["web1"]["added"]')" "[true, [1]]"

	# one VM alone: the tool's line itself, and its exit status
	sed -i 's/"@web"/web2/' "$PLAY"
	play --limit h3
	assert_failure 2
	assert_equal "$(pick 'R["h3"][0]["msg"], R["h3"][0]["rc"], R["h3"][0]["changed"]')" \
		"[\"failed to connect to $T/h3/web2.sock: No such file or directory\", 69, false]"
}

@test "a partial resize fails, says it was partial, and reports what changed" {
	vm h1 web1 --fault fail-cpu=2
	vm h2 web1
	hosts
	playbook <<-'EOF'
		- upcall.tools.vcpus:
		    vm: web1
		    count: 4
	EOF
	play
	assert_failure 2
	assert_equal "$(pick 'S["h1"]["failures"], S["h2"]["failures"]')" "[1, 0]"
	assert_equal "$(cpus h1 web1)" "0,1"
	assert_equal "$(pick 'R["h1"][0]["msg"]')" \
		"guest replied -5 (Input/output error) to ADD_CPU after 1 of 3 CPUs: a vCPU did not come up (the VMM has not created it, or it failed to start)"
	assert_equal "$(pick 'R["h1"][0]["rc"], R["h1"][0]["partial"], R["h1"][0]["changed"]')" \
		"[2, true, true]"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["added"], R["h1"][0]["vms"]["web1"]["not_done"]')" \
		"[[1], [2, 3]]"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["after"]["apic_ids"]')" "[0, 1]"
	assert_equal "$(cpus h2 web1)" "0,1,2,3"
	# usage errors: a count beyond max_vcpu_count, a group the host's
	# inventory lacks; the tool's line, nothing sent
	playbook <<-'EOF'
		- upcall.tools.vcpus: {vm: web1, count: 9}
		  ignore_errors: true
		- upcall.tools.vcpus: {vm: "@db", count: 1}
	EOF
	play --limit h2
	assert_failure 2
	assert_equal "$(pick 'R["h2"][0]["msg"], R["h2"][0]["rc"]')" \
		'["VM web1: 9 vCPUs is outside 1..8 (max_vcpu_count)", 64]'
	assert_equal "$(pick 'R["h2"][1]["rc"], R["h2"][1]["vms"]')" "[64, {}]"
	assert_equal "$(pick 'R["h2"][1]["msg"].startswith("no group named \"db\" in ")')" "true"
	assert_equal "$(cpus h2 web1)" "0,1,2,3"
}

@test "memory: a total grows, holds, shrinks by whole ranges; a range present or absent; check mode" {
	vm h1 web1
	vm h1 web2 --no-query
	vm h2 web1
	hosts
	playbook <<-'EOF'
		- upcall.tools.memory: {vm: "@web", size: 512M}
		- upcall.tools.memory: {vm: "@web", size: 512M}
		- upcall.tools.memory: {vm: web1, base: "0x140000000", size: 256M}
		- upcall.tools.memory: {vm: web1, size: 512M}
		  check_mode: true
		- upcall.tools.memory: {vm: web1, base: "0x140000000", size: 256M, state: absent}
		- upcall.tools.memory: {vm: web1, base: "0x140000000", size: 256M, state: absent}
		- upcall.tools.memory: {vm: "@web", size: 0}
	EOF
	play --diff
	assert_success
	local w='R["h1"][%d]["vms"]["%s"]'
	# 0: one range of 512M each, placed by memctl; the record-only VM too
	assert_equal "$(pick "$(printf "$w" 0 web1)[\"added\"]")" '[{"base": 4294967296, "size": 536870912}]'
	assert_equal "$(pick "$(printf "$w" 0 web2)[\"before\"][\"source\"], $(printf "$w" 0 web2)[\"changed\"]")" \
		'["record", true]'
	assert_equal "$(pick 'R["h1"][0]["diff"]["after"]')" \
		"$(printf 'web1: 512MiB hot-added (0x100000000+512MiB)\nweb2: 512MiB hot-added (0x100000000+512MiB)')"
	# 1: nothing to do
	assert_equal "$(pick 'R["h1"][1]["changed"], R["h2"][1]["changed"]')" "[false, false]"
	# 2: the range is plugged, 3: check mode would remove it (the highest)
	assert_equal "$(pick "$(printf "$w" 2 web1)[\"after\"][\"total\"]")" "805306368"
	assert_equal "$(pick "R[\"h1\"][3][\"changed\"], $(printf "$w" 3 web1)[\"removed\"]")" \
		'[true, [{"base": 5368709120, "size": 268435456}]]'
	# 4: removed for real, 5: already gone
	assert_equal "$(pick 'R["h1"][4]["changed"], R["h1"][5]["changed"]')" "[true, false]"
	assert_equal "$(pick "$(printf "$w" 4 web1)[\"msg\"]")" \
		"removed 256MiB of memory at 0x140000000-0x14fffffff"
	# 6: all of it
	assert_equal "$(pick "$(printf "$w" 6 web1)[\"after\"], $(printf "$w" 6 web2)[\"after\"]")" \
		'[{"total": 0, "ranges": []}, {"total": 0, "ranges": []}]'
	assert_equal "$(mem h1 web1)$(mem h1 web2)$(mem h2 web1)" ""
	assert_equal "$(pick 'S["h1"]["changed"], S["h2"]["changed"]')" "[5, 5]"
}

@test "memory: a total that needs a range split is refused with nothing sent; a step failing after a done one is partial" {
	vm h1 web1 --no-query
	hosts
	playbook <<-'EOF'
		- upcall.tools.memory: {vm: web1, size: 512M}
		- upcall.tools.memory: {vm: web1, base: "0x180000000", size: 128M}
		- upcall.tools.memory: {vm: web1, size: 256M}
	EOF
	play
	assert_failure 2
	assert_equal "$(pick 'R["h1"][2]["msg"], R["h1"][2]["rc"], R["h1"][2]["changed"]')" \
		'["cannot take VM web1 from 640MiB to 256MiB of hot-added memory by removing whole ranges (0x100000000+512MiB, 0x180000000+128MiB); remove ranges by base with state=absent", 64, false]'
	assert_equal "$(mem h1 web1)" "0x100000000+0x20000000 0x180000000+0x8000000"
	# the guest loses the lower range behind the record's back: removing
	# all of it takes the upper one, then the guest refuses the lower
	run "$UPCALLCTL" --vm "$T/h1/web1.sock" mem del --base 0x100000000 512M
	assert_success
	playbook <<-'EOF'
		- upcall.tools.memory: {vm: web1, size: 0}
	EOF
	play
	assert_failure 2
	assert_equal "$(mem h1 web1)" ""
	assert_equal "$(pick 'R["h1"][0]["msg"], R["h1"][0]["rc"]')" \
		"[\"guest replied -2 (No such file or directory) to DEL_MEM: the record of VM web1 is out of date (the guest does not have that range); check the guest, then run 'memctl --vm web1 sync --ranges BASE+SIZE,...'\", 1]"
	assert_equal "$(pick 'R["h1"][0]["changed"], R["h1"][0]["partial"]')" "[true, true]"
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["removed"]')" '[{"base": 6442450944, "size": 134217728}]'
	assert_equal "$(pick 'R["h1"][0]["vms"]["web1"]["after"]["ranges"]')" '[{"base": 4294967296, "size": 536870912}]'
}

@test "info: per VM, vCPUs and memory from the guest or the record, and which; an unreachable VM fails its host" {
	vm h1 web1 --boot-vcpus 2
	vm h1 web2 --no-query
	vm h2 web1
	dead_vm h2 web2
	hosts
	# what the tools did to the VM without a query is in its record
	UPCALL_STATE_DIR=$T/h1/state XDG_CONFIG_HOME=$T/h1/config run "$B/memctl" --vm @web add 256M
	assert_success
	# web1 boots anew: its record no longer holds, which the tools notice
	restart_vm h1 web1 --boot-vcpus 2
	playbook <<-'EOF'
		- upcall.tools.info: {vm: "@web"}
	EOF
	play
	assert_failure 2
	local i='R["h1"][0]["vms"]'
	assert_equal "$(pick "$i[\"web1\"][\"vcpus\"]")" '{"count": 2, "apic_ids": [0, 1], "max": 8, "source": "guest"}'
	assert_equal "$(pick "$i[\"web2\"][\"vcpus\"][\"source\"], $i[\"web2\"][\"memory\"]")" \
		'["record", {"total": 268435456, "ranges": [{"base": 4294967296, "size": 268435456}], "source": "record"}]'
	assert_equal "$(pick "$i[\"web1\"][\"memory\"][\"source\"], $i[\"web1\"][\"reachable\"], R[\"h1\"][0][\"changed\"]")" \
		'["guest", true, false]'
	assert_equal "$(pick "$i[\"web1\"][\"target\"]")" "unix:$T/h1/web1.sock"
	assert_equal "$(pick "$i[\"web1\"][\"memory\"][\"ranges\"]")" "[]"
	assert_equal "$(pick 'R["h1"][0]["warnings"]')" \
		'["VM web1 was restarted or replaced (its endpoint changed since the record was written); starting from its boot state: vCPUs 0, no hot-added memory"]'
	[[ $stderr == *"[WARNING]: VM web1 was restarted or replaced"* ]] ||
		fail "no warning on stderr: $stderr"
	# h2: web1 reported, web2 not reachable, the host failed
	assert_equal "$(pick 'S["h2"]["failures"], R["h2"][0]["rc"], R["h2"][0]["vms"]["web2"]["rc"]')" "[1, 3, 69]"
	assert_equal "$(pick 'R["h2"][0]["msg"]')" \
		"1 of 2 VMs failed: web2: failed to connect to $T/h2/web2.sock: No such file or directory"
	assert_equal "$(pick 'R["h2"][0]["vms"]["web2"]["reachable"], R["h2"][0]["vms"]["web1"]["vcpus"]["count"]')" \
		"[false, 1]"
}

@test "the examples of each module's documentation run verbatim" {
	vm h1 web1
	vm h1 web2
	vm h1 db1
	hosts
	"$PY" - "$ANSIBLE_COLLECTIONS_PATH"/ansible_collections/upcall/tools/plugins/modules/{vcpus,memory,info}.py <<-'EOF' |
		import ast, sys
		for f in sys.argv[1:]:
		    for n in ast.parse(open(f).read()).body:
		        if isinstance(n, ast.Assign) and n.targets[0].id == 'EXAMPLES':
		            print(n.value.value.strip('\n'))
	EOF
		playbook
	assert_equal "$(grep -c '^    - name: ' "$PLAY")" 12
	run --separate-stderr timeout 120 ansible-playbook -i "$HOSTS" "$PLAY"
	assert_success
	refute_output --partial "WARNING"
	refute_output --partial "[DEPRECATION"
	assert_equal "$stderr" ""
	assert_line --regexp '^h1 +: ok=12 +changed=7 +unreachable=0 +failed=0'
	# what they left: web VMs at 2 and 4 vCPUs, no hot-added memory
	assert_equal "$(cpus h1 web1) $(cpus h1 web2) $(cpus h1 db1)" "0,1 0,1,2,3 0"
	assert_equal "$(mem h1 web1)$(mem h1 web2)" ""
}

@test "make install puts the collection where ansible-galaxy finds it; uninstall removes it" {
	local stage=$T/stage coll
	run make -s -C "$TOP" install-ansible PREFIX=/usr DESTDIR="$stage"
	assert_success
	coll=$stage/usr/share/ansible/collections
	ANSIBLE_COLLECTIONS_PATH=$coll run --separate-stderr ansible-galaxy collection list upcall.tools
	assert_success
	assert_output --partial "$coll/ansible_collections"
	local v
	v=$(sed -n 's/^VERSION := //p' "$BATS_TEST_DIRNAME/../../Makefile")
	assert_line --regexp "^upcall\.tools +${v//./\\.} *\$"
	ANSIBLE_COLLECTIONS_PATH=$coll run --separate-stderr ansible-doc -t module upcall.tools.memory
	assert_success
	assert_equal "$stderr" ""
	[ -f "$coll/ansible_collections/upcall/tools/plugins/module_utils/upcall.py" ]
	run make -s -C "$TOP" uninstall-ansible PREFIX=/usr DESTDIR="$stage"
	assert_success
	run find "$stage" ! -type d
	assert_output ""
}
