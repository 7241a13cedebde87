"""Mitogen's linear strategy without its CPU pinning (ansible.cfg: ``strategy = mitogen_linear_unpinned``).

On a machine with fewer than four CPUs, Mitogen keeps CPU 0 for its multiplexer and pins every process it
starts on the controller to the others: on this 2-core machine, to CPU 1 alone. Everything those processes
start inherits the mask: the Go builds of kube_binaries (a cold build took 2.3 times as long), and supervisord
with every cluster daemon and container under it. Mitogen's own base ``Policy`` pins nothing; this plugin
installs it before any process is started, so the kernel places them, as it does under Ansible's strategies.
"""

from __future__ import annotations

import ansible_mitogen.affinity
import ansible_mitogen.loaders
import ansible_mitogen.strategy

# Looked up through the module at every call (affinity.policy.assign_*): replacing it here is enough.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

Base = ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)


class StrategyModule(ansible_mitogen.strategy.StrategyMixin, Base):
    """Ansible's linear strategy with Mitogen's connection and module runner, and no CPU pinning."""
