#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2025 upcall-tools maintainers
# GNU General Public License v2.0+ (see the collection's README)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vcpus
short_description: Set the number of online vCPUs of running VMs over upcall
version_added: 0.1.0
description:
  - Brings the VMs named by I(vm) to I(count) online vCPUs, as
    C(vcpuctl set-count) does, through the upcall device manager in each
    guest. VMs that already have I(count) are left alone.
  - New vCPUs take the lowest free APIC IDs of the VM's topology; removal
    takes the highest online ones and never the boot CPU.
  - Each VM is asked first with C(vcpuctl get); the guest answers when it
    supports the query extension, else the VM's state record does. Only the VMs whose count
    differs are resized, so a second run reports no change.
  - In check mode nothing is sent; the result says which VMs would change,
    and to which APIC IDs where that is known without sending (removals).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - upcall.tools.common
options:
  count:
    description:
      - The number of vCPUs each VM should have online, from 1 to the VM's
        C(max_vcpu_count).
    type: int
    required: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
seealso:
  - module: upcall.tools.memory
  - module: upcall.tools.info
author:
  - upcall-tools maintainers (@upcall-tools)
'''

EXAMPLES = r'''
- name: Every web VM of every host gets 4 vCPUs
  upcall.tools.vcpus:
    vm: "@web"
    count: 4

- name: One VM of the inventory back to 2 vCPUs, and what changed
  upcall.tools.vcpus:
    vm: web1
    count: 2
  register: resized

- name: Show the APIC IDs it had and has
  ansible.builtin.debug:
    msg: "{{ resized.vms.web1.before.apic_ids }} -> {{ resized.vms.web1.after.apic_ids }}"

- name: What would change on every VM of the inventory, without changing it
  upcall.tools.vcpus:
    vm: "@all"
    count: 2
    jobs: 8
    timeout: 10
  check_mode: true
  diff: true
'''

RETURN = r'''
changed:
  description: Whether any VM got or lost a vCPU (in check mode, would have).
  returned: always
  type: bool
partial:
  description:
    - Present and true when a guest carried out a request only in part (the
      tools' exit status 2). The task fails; I(vms) says which vCPUs were
      added or removed and which were not.
  returned: when a resize was partial
  type: bool
  sample: true
rc:
  description: The tool's exit status (see the notes); with several VMs, combined as the tools do.
  returned: failure
  type: int
  sample: 69
msg:
  description:
    - On failure, the tool's one-line message; with several VMs, each failed
      VM's name and message.
  returned: failure
  type: str
  sample: "failed to connect to /run/web2.sock: No such file or directory"
vms:
  description: One entry per VM, keyed by the name the tools give it.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether this VM's vCPUs changed.
      type: bool
    failed:
      description: Whether the tool failed on this VM.
      type: bool
    msg:
      description: The tool's message for this VM (what it did, or its error).
      type: str
      sample: "added 2 vCPUs (APIC IDs 2, 3)"
    rc:
      description: The tool's exit status for this VM.
      type: int
      returned: when failed
    partial:
      description: True when the guest carried out the request only in part.
      type: bool
      returned: when partial
    before:
      description: The online vCPUs found first.
      type: dict
      returned: when the VM could be asked
      contains:
        count:
          description: Number of online vCPUs.
          type: int
        apic_ids:
          description: Their APIC IDs (x86_64) or CPU ids (aarch64), ascending.
          type: list
          elements: int
        max:
          description: The VM's max_vcpu_count.
          type: int
        source:
          description: C(guest) when the guest answered the query, C(record) when the state record said.
          type: str
    after:
      description:
        - The online vCPUs afterwards (in check mode, would be).
        - In check mode C(apic_ids) is null for a VM that would grow, since the
          tool picks the new IDs from the VM's topology when it sends.
      type: dict
      returned: when the VM could be asked
      contains:
        count:
          description: Number of online vCPUs.
          type: int
        apic_ids:
          description: Their IDs, ascending.
          type: list
          elements: int
    added:
      description: IDs brought online (null in check mode for a VM that would grow).
      type: list
      elements: int
      returned: when the VM could be asked
    removed:
      description: IDs taken offline (in check mode, that would be).
      type: list
      elements: int
      returned: when the VM could be asked
    not_done:
      description: IDs of a partial request that were not handled.
      type: list
      elements: int
      returned: when partial
  sample:
    web1:
      changed: true
      failed: false
      msg: "added 2 vCPUs (APIC IDs 2, 3)"
      before: {count: 2, apic_ids: [0, 1], max: 8, source: guest}
      after: {count: 4, apic_ids: [0, 1, 2, 3]}
      added: [2, 3]
      removed: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.upcall.tools.plugins.module_utils.upcall import (
    COMMON_ARGS, Outcome, Tools, diff_text)


def describe(name, state):
    ids = state.get('apic_ids')
    n = state['count']
    text = '%s: %d vCPU%s' % (name, n, '' if n == 1 else 's')
    if ids is None:
        return text + ' (new APIC IDs picked from the topology when sent)'
    return text + ' (APIC IDs %s)' % ', '.join(str(i) for i in ids)


def predict(before, count):
    """After and the IDs removed, as vcpuctl would do it; None where unknown."""
    ids = before['apic_ids']
    if count >= len(ids):
        return {'count': count, 'apic_ids': None}, None, []
    # The highest go first; the boot CPU, the lowest ID, stays.
    return {'count': count, 'apic_ids': ids[:count]}, None, ids[count:][::-1]


def applied(before, obj):
    """After, added and removed from a set-count answer (done: IDs handled)."""
    ids = set(before['apic_ids'])
    done = obj.get('done') or []
    if obj.get('to', 0) >= obj.get('from', 0):
        after, added, removed = ids | set(done), done, []
    else:
        after, added, removed = ids - set(done), [], done
    return {'count': len(after), 'apic_ids': sorted(after)}, added, removed


def main():
    module = AnsibleModule(
        argument_spec=dict(COMMON_ARGS, count=dict(type='int', required=True)),
        supports_check_mode=True,
    )
    count = module.params['count']
    tools = Tools(module)
    out = Outcome(module)

    got = tools.run('vcpuctl', module.params['vm'], ['get'])
    out.stop_on(got)
    todo = []
    for name, obj in got.vms.items():
        if not obj.get('ok'):
            out.failed(name, obj)
            continue
        r = out.vm(name)
        r['before'] = dict((k, obj.get(k)) for k in ('count', 'apic_ids', 'max', 'source'))
        r['after'] = {'count': obj['count'], 'apic_ids': obj['apic_ids']}
        r['added'], r['removed'] = [], []
        r['msg'] = '%s already has %d vCPUs' % (name, count)
        if obj['count'] != count:
            todo.append(name)

    if module.check_mode:
        for name in todo:
            r = out.vm(name)
            r['after'], r['added'], r['removed'] = predict(r['before'], count)
            r['changed'] = True
            r['msg'] = 'would set %s to %d vCPUs' % (name, count)
    elif todo:
        res = tools.run('vcpuctl', todo, ['set-count', str(count)])
        for name, obj in out.answers(res, todo):
            r = out.vm(name)
            if 'from' in obj and 'before' in r:
                r['after'], r['added'], r['removed'] = applied(r['before'], obj)
                r['changed'] = bool(r['added'] or r['removed'])
            if obj.get('message'):
                r['msg'] = obj['message']
            if not obj.get('ok'):
                out.failed(name, obj)
                if obj.get('not_done'):
                    r['not_done'] = obj['not_done']

    asked = out.names()
    asked = [n for n in asked if 'before' in out.vms[n]]
    diff = {
        'before': diff_text(describe(n, out.vms[n]['before']) for n in asked),
        'after': diff_text(describe(n, out.vms[n]['after']) for n in asked),
    }
    out.finish(diff=diff)


if __name__ == '__main__':
    main()
