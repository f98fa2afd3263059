#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2025 upcall-tools maintainers
# GNU General Public License v2.0+ (see the collection's README)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: memory
short_description: Hot-add and remove memory of running VMs over upcall
version_added: 0.1.0
description:
  - Without I(base), brings the memory hot-added to each VM named by I(vm)
    to a total of I(size); boot memory does not count. Growing adds one
    range of the difference wherever the VM's hot-add regions have room
    (C(memctl add)). Shrinking removes whole hot-added ranges, highest
    address first (C(memctl del)); a total that only splitting a range
    could reach is refused, with nothing sent.
  - With I(base), the range of I(size) at I(base) is plugged
    (I(state=present)) or not (I(state=absent)).
  - Each VM is asked first with C(memctl list); the guest answers when it
    supports the query extension, else the VM's state record does. A VM already as asked is
    left alone, so a second run reports no change.
  - In check mode nothing is sent; the result says which ranges would be
    added or removed (an added range's base is null when memctl would pick
    it).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - upcall.tools.common
options:
  size:
    description:
      - Without I(base), the total hot-added memory each VM should have;
        C(0) removes all of it.
      - With I(base), the size of that range.
      - Bytes, decimal or C(0x) hex, with an optional C(K), C(M), C(G) or C(T)
        suffix (C(512M), C(2G)); a multiple of the VM's memory block size
        (C(memory.block_size) in the inventory, default 128M).
    type: str
    required: true
  base:
    description:
      - Guest-physical start of one range, decimal or C(0x) hex; the range
        must lie in the VM's hot-add regions to be added.
    type: str
  state:
    description:
      - With I(base), whether that range should be plugged (C(present)) or not
        (C(absent)). Without I(base), only C(present) (the total) applies.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: upcall.tools.vcpus
  - module: upcall.tools.info
author:
  - upcall-tools maintainers (@upcall-tools)
'''

EXAMPLES = r'''
- name: Every web VM has 1 GiB hot-added, wherever its regions have room
  upcall.tools.memory:
    vm: "@web"
    size: 1G

- name: Plug 256 MiB at a given address of web1
  upcall.tools.memory:
    vm: web1
    base: "0x140000000"
    size: 256M

- name: Remove that range again
  upcall.tools.memory:
    vm: web1
    base: "0x140000000"
    size: 256M
    state: absent

- name: Back to boot memory only
  upcall.tools.memory:
    vm: "@web"
    size: 0
'''

RETURN = r'''
changed:
  description: Whether any VM gained or lost memory (in check mode, would have).
  returned: always
  type: bool
partial:
  description:
    - Present and true when a VM that needed several steps (ranges to remove)
      failed after some were done. The task fails; I(vms) says which ranges
      were added or removed.
  returned: when a change was partial
  type: bool
  sample: true
rc:
  description: The tool's exit status (see the notes); with several VMs, combined as the tools do.
  returned: failure
  type: int
  sample: 64
msg:
  description:
    - On failure, the tool's one-line message; with several VMs, each failed
      VM's name and message.
  returned: failure
  type: str
  sample: "0x200000000+0x8000000 is outside the hot-add regions of VM web1"
vms:
  description:
    - One entry per VM, keyed by the name the tools give it. When a VM needed
      several steps and one failed, the steps before it are in C(added) and
      C(removed) and the VM counts as changed.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether this VM's memory changed.
      type: bool
    failed:
      description: Whether the tool failed on this VM.
      type: bool
    msg:
      description: The tool's messages for this VM (what it did, or its error).
      type: str
      sample: "added 256MiB of memory at 0x100000000-0x10fffffff"
    rc:
      description: The tool's exit status for this VM.
      type: int
      returned: when failed
    partial:
      description: True when some steps were done before one failed.
      type: bool
      returned: when partial
    before:
      description: The hot-added memory found first.
      type: dict
      returned: when the VM could be asked
      contains:
        total:
          description: Bytes hot-added.
          type: int
        ranges:
          description: The ranges, as C(base) and C(size) in bytes, ascending.
          type: list
          elements: dict
        source:
          description: C(guest) when the guest answered the query, C(record) when the state record said.
          type: str
    after:
      description: The hot-added memory afterwards (in check mode, would be).
      type: dict
      returned: when the VM could be asked
      contains:
        total:
          description: Bytes hot-added.
          type: int
        ranges:
          description: The ranges, ascending; in check mode a range memctl would place has base null.
          type: list
          elements: dict
    added:
      description: Ranges added (C(base), C(size)).
      type: list
      elements: dict
      returned: when the VM could be asked
    removed:
      description: Ranges removed (C(base), C(size)).
      type: list
      elements: dict
      returned: when the VM could be asked
  sample:
    web1:
      changed: true
      failed: false
      msg: "added 256MiB of memory at 0x100000000-0x10fffffff"
      before: {total: 0, ranges: [], source: guest}
      after: {total: 268435456, ranges: [{base: 4294967296, size: 268435456}]}
      added: [{base: 4294967296, size: 268435456}]
      removed: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.upcall.tools.plugins.module_utils.upcall import (
    COMMON_ARGS, EXIT_USAGE, Outcome, Tools, diff_text, format_range,
    format_size, parse_size, plain_ranges)


def sort_ranges(ranges):
    return sorted(ranges, key=lambda r: (r['base'] is None, r['base'] or 0))


def covered(ranges, base, size):
    """True when [base, base+size) lies within the union of RANGES."""
    pos, end = base, base + size
    for r in sort_ranges(ranges):
        if r['base'] is not None and r['base'] <= pos < r['base'] + r['size']:
            pos = r['base'] + r['size']
    return pos >= end


def overlaps(ranges, base, size):
    return any(r['base'] is not None and r['base'] < base + size and base < r['base'] + r['size']
               for r in ranges)


def subtract(ranges, base, size):
    out = []
    for r in ranges:
        if r['base'] is None or not overlaps([r], base, size):
            out.append(r)
            continue
        if r['base'] < base:
            out.append({'base': r['base'], 'size': base - r['base']})
        if r['base'] + r['size'] > base + size:
            out.append({'base': base + size, 'size': r['base'] + r['size'] - base - size})
    return out


def shrink_plan(ranges, excess):
    """Whole ranges to remove, highest first, that add up to EXCESS; or None."""
    plan = []
    for r in sorted(ranges, key=lambda r: r['base'], reverse=True):
        if r['size'] <= excess:
            plan.append(('del', r['base'], r['size']))
            excess -= r['size']
        if excess == 0:
            return plan
    return None


def plan_for(name, before, size, base, state):
    """The memctl steps that bring this VM where asked, or an error string."""
    ranges = before['ranges']
    if base is not None:
        if state == 'present':
            return [] if covered(ranges, base, size) else [('add', base, size)]
        return [('del', base, size)] if overlaps(ranges, base, size) else []
    total = before['total']
    if size > total:
        return [('add', None, size - total)]
    if size == total:
        return []
    plan = shrink_plan(ranges, total - size)
    if plan is None:
        return ('cannot take VM %s from %s to %s of hot-added memory by removing whole '
                'ranges (%s); remove ranges by base with state=absent'
                % (name, format_size(total), format_size(size),
                   ', '.join(format_range(r) for r in sort_ranges(ranges))))
    return plan


def step(after, op, base, size):
    if op == 'add':
        return sort_ranges(after + [{'base': base, 'size': size}])
    return subtract(after, base, size)


def describe(name, state):
    if not state['ranges']:
        return '%s: no memory hot-added' % name
    return '%s: %s hot-added (%s)' % (name, format_size(state['total']),
                                      ', '.join(format_range(r) for r in state['ranges']))


def set_after(r, ranges):
    r['after'] = {'total': sum(x['size'] for x in ranges), 'ranges': ranges}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            COMMON_ARGS,
            size=dict(type='str', required=True),
            base=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        required_if=[('state', 'absent', ('base',))],
        supports_check_mode=True,
    )
    p = module.params
    try:
        size = parse_size(p['size'])
        base = None if p['base'] is None else parse_size(p['base'])
    except ValueError as e:
        module.fail_json(msg=str(e), rc=EXIT_USAGE)
    if base is not None and size == 0:
        module.fail_json(msg='a range with base needs a size above 0', rc=EXIT_USAGE)
    tools = Tools(module)
    out = Outcome(module)

    listed = tools.run('memctl', p['vm'], ['list'])
    out.stop_on(listed)
    plans = {}
    for name, obj in listed.vms.items():
        if not obj.get('ok'):
            out.failed(name, obj)
            continue
        r = out.vm(name)
        ranges = sort_ranges(plain_ranges(obj.get('ranges')))
        r['before'] = {'total': obj.get('total', 0), 'ranges': ranges, 'source': obj.get('source')}
        set_after(r, ranges)
        r['added'], r['removed'] = [], []
        r['msg'] = 'nothing to do'
        plan = plan_for(name, r['before'], size, base, p['state'])
        if isinstance(plan, str):
            out.failed(name, {'error': plan, 'exit_code': EXIT_USAGE})
        elif plan:
            plans[name] = plan
            r['msgs'] = []

    # Step k of every VM still on track, VMs with the same step in one run.
    k = 0
    while plans:
        groups = {}
        for name, plan in plans.items():
            if k < len(plan) and out.ok(name):
                groups.setdefault(plan[k], []).append(name)
        if not groups:
            break
        for (op, b, sz), names in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1] or 0, g[0][2])):
            if module.check_mode:
                for name in names:
                    r = out.vm(name)
                    set_after(r, step(r['after']['ranges'], op, b, sz))
                    r['added' if op == 'add' else 'removed'].append({'base': b, 'size': sz})
                    r['changed'] = True
                    r['msgs'].append('would %s %s' % ('add' if op == 'add' else 'remove',
                                                      format_range({'base': b, 'size': sz})))
                continue
            words = [op] + ([] if b is None else ['--base=0x%x' % b]) + [str(sz)]
            res = tools.run('memctl', sorted(names), words)
            for name, obj in out.answers(res, names):
                r = out.vm(name)
                if not obj.get('ok'):
                    out.failed(name, obj)
                    continue
                done = {'base': obj.get('base', b), 'size': obj.get('size', sz)}
                set_after(r, step(r['after']['ranges'], op, done['base'], done['size']))
                r['added' if op == 'add' else 'removed'].append(done)
                r['changed'] = True
                r['msgs'].append(obj.get('message') or op)
        k += 1

    for name in out.names():
        r = out.vms[name]
        msgs = r.pop('msgs', None)
        if msgs and not r['failed']:
            r['msg'] = '; '.join(msgs)
        elif r['failed'] and r['changed']:
            r['partial'] = True     # some steps done, then the tool failed

    asked = [n for n in out.names() if 'before' in out.vms[n]]
    diff = {
        'before': diff_text(describe(n, out.vms[n]['before']) for n in asked),
        'after': diff_text(describe(n, out.vms[n]['after']) for n in asked),
    }
    out.finish(diff=diff)


if __name__ == '__main__':
    main()
