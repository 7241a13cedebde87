#!/usr/bin/python
# Copyright: cloudnative.httpserver maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the check_inventory action, which runs in the controller (plugins/action)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: check_inventory
short_description: Check a host's variables against the collection's roles before anything changes
author: cloudnative.httpserver maintainers (!UNKNOWN)
version_added: 0.2.0
description:
  - Reads the argument specs of O(roles) under O(roles_dir) and checks what the inventory and extra vars set
    for the host (its C(hostvars)), failing with one message that lists every problem found.
  - A name in O(removed) fails with the message given for it.
  - A name that is not known (an option of any entry point of O(roles), or in O(known)) but a small edit away
    from a known one fails as a likely typo, naming the known name; other names (another collection's) pass.
  - The shared settings must be set; C(httpserver_env), a DNS label that is also one of the host's groups,
    C(httpserver_namespace), a DNS label, and C(httpserver_drain_seconds) and
    C(httpserver_shutdown_timeout_seconds), numbers of at least 0.
  - The main options of O(roles) that the host's variables set are checked against their types and choices,
    none required (the playbook maps the rest).
  - Runs in the controller's process only; nothing is changed.
options:
  roles_dir:
    description: The directory that holds the roles.
    type: path
    required: true
  roles:
    description: The roles whose variables the host may set.
    type: list
    elements: str
    required: true
  known:
    description: Further names the playbooks read or set, which are no typo.
    type: list
    elements: str
    default: []
  removed:
    description: Names earlier versions read, each with what to do instead.
    type: dict
    default: {}
attributes:
  check_mode:
    description: Runs the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: No diff; nothing changes.
    support: none
"""

EXAMPLES = r"""
- name: Check the inventory's variables against the roles' argument specs
  cloudnative.httpserver.check_inventory:
    roles_dir: "{{ playbook_dir | dirname }}/roles"
    roles: [image, tls, config, deploy]
    known: [httpserver_env, httpserver_namespace]
    removed:
      deploy_replicas: removed in 0.2.0, set deploy_hpa_min_replicas instead.
"""

RETURN = r"""
msg:
  description: On failure, every problem found, one after the other.
  returned: always
  type: str
"""
