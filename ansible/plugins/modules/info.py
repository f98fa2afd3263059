#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: 2025 upcall-tools maintainers
# GNU General Public License v2.0+ (see the collection's README)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: info
short_description: What runs in VMs, over upcall - vCPUs, hot-added memory, reachability
version_added: 0.1.0
description:
  - For each VM named by I(vm), reports whether its device manager answers
    (C(upcallctl ping)), its online vCPUs (C(vcpuctl get)) and its hot-added
    memory ranges (C(memctl list)).
  - vCPUs and memory come from the guest when it answers the query
    extension, else from the VM's state record (what the tools did to it);
    C(source) says which.
  - Devices (virtio-mmio windows, PCI devices) are not reported; upcall has
    no query for them and the state records do not keep them.
  - Changes nothing. A VM that cannot be reached fails the task, with its
    entry in I(vms) saying so; the other VMs are still reported.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - upcall.tools.common
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: upcall.tools.vcpus
  - module: upcall.tools.memory
author:
  - upcall-tools maintainers (@upcall-tools)
'''

EXAMPLES = r'''
- name: What the web VMs of this host have
  upcall.tools.info:
    vm: "@web"
  register: web

- name: Their vCPU counts, and whether the guest or the record said so
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.vcpus.count }} vCPUs ({{ item.value.vcpus.source }})"
  loop: "{{ web.vms | dict2items }}"

- name: Hot-added memory of one VM, in bytes
  upcall.tools.info:
    vm: web1
  register: web1

- name: Show it
  ansible.builtin.debug:
    var: web1.vms.web1.memory.total
'''

RETURN = r'''
changed:
  description: Always false.
  returned: always
  type: bool
rc:
  description: The tool's exit status (see the notes); with several VMs, combined as the tools do.
  returned: failure
  type: int
  sample: 69
msg:
  description: On failure, the tool's one-line message; with several VMs, each failed VM's name and message.
  returned: failure
  type: str
vms:
  description: One entry per VM, keyed by the name the tools give it.
  returned: always
  type: dict
  contains:
    reachable:
      description: Whether the VM's device manager answered the handshake.
      type: bool
    rtt_us:
      description: Round trip of the handshake, in microseconds.
      type: float
      returned: when reachable
    target:
      description: How the tools reach it (C(unix:PATH) or C(vsock:CID)).
      type: str
      returned: when reachable
    failed:
      description: Whether a tool failed on this VM.
      type: bool
    msg:
      description: The tool's message when it failed.
      type: str
      returned: when failed
    rc:
      description: The tool's exit status when it failed.
      type: int
      returned: when failed
    vcpus:
      description: The online vCPUs.
      type: dict
      returned: when reachable
      contains:
        count:
          description: Number online.
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
    memory:
      description: The hot-added memory (boot memory is not counted).
      type: dict
      returned: when reachable
      contains:
        total:
          description: Bytes hot-added.
          type: int
        ranges:
          description: The ranges, as C(base) and C(size) in bytes, ascending.
          type: list
          elements: dict
        source:
          description: C(guest) or C(record), as for vcpus.
          type: str
  sample:
    web1:
      reachable: true
      rtt_us: 230.5
      target: "unix:/run/web1.sock"
      failed: false
      vcpus: {count: 2, apic_ids: [0, 1], max: 8, source: guest}
      memory: {total: 268435456, ranges: [{base: 4294967296, size: 268435456}], source: guest}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.upcall.tools.plugins.module_utils.upcall import (
    COMMON_ARGS, Outcome, Tools, plain_ranges)


def main():
    module = AnsibleModule(argument_spec=dict(COMMON_ARGS), supports_check_mode=True)
    tools = Tools(module)
    out = Outcome(module)

    pinged = tools.run('upcallctl', module.params['vm'], ['ping'])
    out.stop_on(pinged)
    for name, obj in pinged.vms.items():
        r = out.vm(name)
        r['reachable'] = bool(obj.get('ok'))
        if obj.get('ok'):
            r['rtt_us'] = obj.get('rtt_us')
            r['target'] = obj.get('target')
        else:
            out.failed(name, obj)
    up = out.names(good=True)
    if up:
        for tool, words, key, fields in (
                ('vcpuctl', ['get'], 'vcpus', ('count', 'apic_ids', 'max', 'source')),
                ('memctl', ['list'], 'memory', ('total', 'ranges', 'source'))):
            res = tools.run(tool, up, words)
            for name, obj in out.answers(res, up):
                if obj.get('ok'):
                    out.vm(name)[key] = dict((k, obj.get(k)) for k in fields)
                    if key == 'memory':
                        out.vm(name)[key]['ranges'] = plain_ranges(obj.get('ranges'))
                elif out.ok(name):
                    out.failed(name, obj)
    out.finish()


if __name__ == '__main__':
    main()
