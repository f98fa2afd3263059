# -*- coding: utf-8 -*-
# Copyright: 2025 upcall-tools maintainers
# GNU General Public License v2.0+ (see the collection's README)
"""Run the upcall tools with -o json and sort what they print by VM.

The modules never speak the protocol themselves: every request goes through
the installed vcpuctl, memctl or upcallctl, which keep the per-VM state
records and their locks.  This file only builds their command lines, reads
their JSON lines, and turns per-VM outcomes into one module result.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re

# Options every module of the collection takes (see doc_fragments/common.py).
COMMON_ARGS = dict(
    vm=dict(type='list', elements='str', required=True),
    config=dict(type='path'),
    timeout=dict(type='float'),
    wait=dict(type='int'),
    jobs=dict(type='int'),
)

# The exit statuses of the tools (README, "Exit status").
EXIT_PARTIAL = 2
EXIT_SOME_FAILED = 3
EXIT_ALL_FAILED_DIFFERENTLY = 4
EXIT_USAGE = 64

_GLOB = re.compile(r'[*?\[]')
_SIZE = re.compile(r'^(0[xX][0-9a-fA-F]+|[0-9]+)(?:([KMGTPkmgtp])(?:[iI]?[bB])?)?$')
_UNITS = 'KMGTP'


def is_pattern(vm):
    """True when --vm VM may stand for several VMs (a glob or an @group)."""
    return vm.startswith('@') or bool(_GLOB.search(vm))


def parse_size(value):
    """Bytes of a size as the tools take it: decimal or 0x hex, K/M/G/T/P."""
    m = _SIZE.match(str(value).strip())
    if not m:
        raise ValueError('"%s" is not a size (e.g. 128M, 1G, 0x8000000)' % value)
    n = int(m.group(1), 0) if m.group(1)[:2].lower() == '0x' else int(m.group(1), 10)
    if m.group(2):
        n <<= 10 * (_UNITS.index(m.group(2).upper()) + 1)
    return n


def format_size(n):
    """256MiB, as the tools print sizes; bytes when no unit divides."""
    i = -1
    while n and n % 1024 == 0 and i < len(_UNITS) - 1:
        n //= 1024
        i += 1
    return str(n) if i < 0 else '%d%siB' % (n, _UNITS[i])


def plain_ranges(ranges):
    """The tools' ranges as base and size only (not their *_hex twins)."""
    return [{'base': r.get('base'), 'size': r.get('size')} for r in ranges or []]


def format_range(r):
    if r.get('base') is None:
        return '%s (placed by memctl)' % format_size(r['size'])
    return '0x%x+%s' % (r['base'], format_size(r['size']))


def combined_rc(codes):
    """The exit status the tools give a fleet whose VMs failed with codes."""
    if not codes:
        return 0
    if len(set(codes)) == 1:
        return codes[0]
    return EXIT_ALL_FAILED_DIFFERENTLY


class Answer(object):
    """What one tool run printed: one object per VM, or one for the command.

    vms maps each VM (as the tool names it) to its JSON object; error is
    the object of a failure that concerns no single VM (a usage error, a
    glob that matches nothing, an unknown @group), else None.
    """

    def __init__(self, rc, vms, error):
        self.rc = rc
        self.vms = vms
        self.error = error


class Tools(object):
    """Runs vcpuctl, memctl and upcallctl for one module invocation."""

    def __init__(self, module):
        self.module = module
        self.paths = {}
        self.notices = set()

    def _path(self, tool):
        if tool not in self.paths:
            self.paths[tool] = self.module.get_bin_path(tool, required=True)
        return self.paths[tool]

    def command(self, tool, vms, words):
        p = self.module.params
        cmd = [self._path(tool), '-o', 'json']
        if p.get('config'):
            cmd.append('--config=%s' % p['config'])
        if p.get('timeout') is not None:
            cmd.append('--timeout=%s' % p['timeout'])
        if p.get('wait') is not None:
            cmd.append('--wait=%d' % p['wait'])
        if p.get('jobs') is not None:
            cmd.append('--jobs=%d' % p['jobs'])
        cmd.extend('--vm=%s' % v for v in vms)
        cmd.extend(words)
        return cmd

    def _warn_notices(self, err):
        """A notice (a restarted VM, an out-of-date record) becomes a warning."""
        for line in err.splitlines():
            text = line.partition(': notice: ')[2]
            if text and text not in self.notices:
                self.notices.add(text)
                self.module.warn(text)

    def run(self, tool, vms, words):
        """Run TOOL on VMS with the command WORDS; an Answer."""
        cmd = self.command(tool, vms, words)
        rc, out, err = self.module.run_command(cmd)
        self._warn_notices(err)
        objs = []
        try:
            for line in out.splitlines():
                if line.strip():
                    objs.append(json.loads(line))
        except ValueError:
            objs = []
        if not objs or not all(isinstance(o, dict) for o in objs):
            last = (err.strip().splitlines() or ['no output'])[-1]
            self.module.fail_json(
                msg='%s printed no JSON result (exit status %d): %s' % (tool, rc, last),
                rc=rc, cmd=cmd, stdout=out, stderr=err)
        per_vm = {}
        error = None
        for o in objs:
            if 'vms' in o and 'failed_vms' in o:
                continue        # the fleet summary: the VMs say it all
            name = o.get('vm')
            if name is None and len(vms) == 1 and not is_pattern(vms[0]):
                name = vms[0]   # one VM: its objects need not name it
            if name is None:
                error = o
            else:
                per_vm[name] = o
        return Answer(rc, per_vm, error)


class Outcome(object):
    """Per-VM results of one module run, and how they end the module."""

    def __init__(self, module):
        self.module = module
        self.vms = {}

    def vm(self, name):
        return self.vms.setdefault(name, {'changed': False, 'failed': False})

    def failed(self, name, obj):
        """Record the failure the tool reported for VM NAME."""
        r = self.vm(name)
        r['failed'] = True
        r['msg'] = obj.get('error') or obj.get('message') or 'failed'
        r['rc'] = obj.get('exit_code', 1)
        if r['rc'] == EXIT_PARTIAL:
            r['partial'] = True

    def ok(self, name):
        return name in self.vms and not self.vms[name]['failed']

    def names(self, good=None):
        return [n for n in sorted(self.vms) if good is None or self.ok(n) == good]

    def answers(self, answer, names):
        """Each of NAMES with its object from ANSWER, for a run on those VMs
        alone: a failure of the whole run is each one's failure."""
        for name in names:
            obj = answer.vms.get(name)
            if obj is None:
                obj = answer.error or {'error': 'no result for %s' % name,
                                       'exit_code': answer.rc}
            yield name, obj

    def stop_on(self, answer):
        """A failure of the whole command (no VM named) ends the module."""
        if answer.error is not None:
            self.finish(error=answer.error, rc=answer.rc)

    def finish(self, diff=None, error=None, rc=None, **extra):
        changed = any(r['changed'] for r in self.vms.values())
        result = dict(changed=changed, vms=self.vms, **extra)
        if diff is not None and self.module._diff:
            result['diff'] = diff
        partial = [n for n in self.names() if self.vms[n].get('partial')]
        if partial:
            result['partial'] = True
        if error is not None:
            self.module.fail_json(msg=error.get('error') or 'failed',
                                  rc=error.get('exit_code', rc), **result)
        bad = self.names(good=False)
        if not bad:
            self.module.exit_json(**result)
        codes = [self.vms[n]['rc'] for n in bad]
        if len(self.vms) == 1:
            msg = self.vms[bad[0]]['msg']
        else:
            msg = '%d of %d VMs failed: %s' % (
                len(bad), len(self.vms),
                '; '.join('%s: %s' % (n, self.vms[n]['msg']) for n in bad))
        rc = combined_rc(codes) if len(bad) == len(self.vms) else EXIT_SOME_FAILED
        self.module.fail_json(msg=msg, rc=rc, **result)


def diff_text(lines):
    return ''.join('%s\n' % line for line in lines)
