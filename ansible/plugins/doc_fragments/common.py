# -*- coding: utf-8 -*-
# Copyright: 2025 upcall-tools maintainers
# GNU General Public License v2.0+ (see the collection's README)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The options every module of upcall.tools takes: which VMs, and how the
    # tools reach them.
    DOCUMENTATION = r'''
options:
  vm:
    description:
      - The VMs of this host, as the tools' C(--vm) takes them, one per item
        (a single string may also list several, separated by commas).
      - An inventory name (C(web1)), the VMM's hybrid-vsock socket
        (C(/run/web1.sock) or C(unix:/run/web1.sock)), C(vsock:CID[:PORT]),
        a quoted glob of socket paths (C(/run/vms/*.sock)), or an inventory
        group (C(@web)).
      - Give socket paths as absolute paths; the module does not run in the
        playbook's directory.
    type: list
    elements: str
    required: true
  config:
    description:
      - The VM inventory to read names and groups from, on the managed host
        (the tools' C(--config)).
      - Default, as for the tools, C(/etc/upcall/vms.yaml) then
        C($XDG_CONFIG_HOME/upcall/vms.yaml); see vms.yaml(5).
    type: path
  timeout:
    description:
      - Give up on any step (connection, handshake, each request) after this
        many seconds (the tools' C(--timeout); their default is 5).
    type: float
  wait:
    description:
      - Wait up to this many seconds for a guest that is still booting to
        answer (the tools' C(--wait)).
    type: int
  jobs:
    description:
      - With several VMs, work on at most this many at once (the tools'
        C(--jobs); their default is all of them, up to 32).
    type: int
notes:
  - The modules run the upcall tools of the managed host (C(vcpuctl),
    C(memctl), C(upcallctl), from the upcall-tools package or C(make install))
    with C(-o json); they must be on its C(PATH).
  - The tools keep one state record per VM in C(UPCALL_STATE_DIR), else
    C(/run/upcall) for root; set it with the C(environment) keyword if the
    host's tools use another directory.
  - A failure carries the tool's one-line message in C(msg) and its exit
    status in C(rc) (1 refused by the guest, 2 partial, 64 usage error and
    nothing sent, 69 unreachable, 75 timed out, 76 protocol error; with
    several VMs 3 when some failed and 4 when all failed in different ways).
    The other VMs of the task are still served and reported in C(vms).
requirements:
  - upcall-tools (C(vcpuctl), C(memctl), C(upcallctl)) on the managed host
'''
