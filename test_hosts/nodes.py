#!/usr/bin/env python3
"""Start or remove the test hosts an inventory names: Debian 12 containers reached over SSH like real servers.

    nodes.py up INVENTORY      create the network and one container per host (an existing one is left alone)
    nodes.py down INVENTORY    remove those containers, their volumes and the network
    nodes.py status INVENTORY  print each host's container state and memory
    --only NAME                act on that host alone (down keeps the network)

Everything comes from the inventory (``ansible-inventory --list``): each host's ``ansible_host`` is its
address, ``ansible_ssh_private_key_file`` the key whose public half is installed in the container, and
``test_hosts_network``, ``test_hosts_subnet`` and ``test_hosts_image`` say where and from what to start them.
The image comes from ``build-node-image.sh``. Each container runs with ``--cpu-shares 512`` so the machine's
own work keeps priority, and publishes no port: the host reaches it at its own address over the bridge.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LABEL = "cloudnative-test-host"
SSH_WAIT_SECONDS = 60

# The flags measured to work on a cgroup v1 host without CAP_SYS_RESOURCE, where --privileged fails
# (docs/spikes/multinode/FINDINGS.md, section 2).
RUN_FLAGS = [
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined",
    "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined",
    "--device-cgroup-rule", "a *:* rwm",
    "--cgroupns=private",
    "--device", "/dev/kmsg",
    "--tmpfs", "/run:rw,exec,nosuid,nodev,mode=0755",
    "--tmpfs", "/tmp:rw,exec,nosuid,nodev,mode=1777",
    "--stop-timeout", "30",
    "--cpu-shares", "512",
]  # fmt: skip


@dataclass(frozen=True, order=True)
class Host:
    name: str
    address: str


@dataclass(frozen=True)
class Plan:
    hosts: list[Host]
    network: str
    subnet: str
    image: str
    key: Path


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=120)


def read_plan(inventory: str) -> Plan:
    """Read the hosts and the test-host settings from the inventory."""
    beside_python = Path(sys.executable).with_name("ansible-inventory")
    ansible_inventory = shutil.which("ansible-inventory") or str(beside_python)
    data = json.loads(run(ansible_inventory, "-i", inventory, "--list").stdout)
    hostvars = data["_meta"]["hostvars"]
    # The controller itself (connection local, say the host site.yml deploys from) is no test host.
    hosts = sorted(
        Host(name, hv.get("ansible_host", ""))
        for name, hv in hostvars.items()
        if hv.get("ansible_connection") != "local"
    )
    if not hosts:
        sys.exit(f"{inventory}: no hosts")
    missing = [h.name for h in hosts if not h.address]
    if missing:
        sys.exit(f"{inventory}: no ansible_host for {', '.join(missing)}")
    first = hostvars[hosts[0].name]
    try:
        return Plan(
            hosts=hosts,
            network=first["test_hosts_network"],
            subnet=first["test_hosts_subnet"],
            image=first["test_hosts_image"],
            key=Path(first["ansible_ssh_private_key_file"]).expanduser(),
        )
    except KeyError as err:
        sys.exit(f"{inventory}: {err.args[0]} is not set")


def ensure_key(key: Path) -> None:
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cloudnative-test-hosts", "-f", str(key))


def ssh_answers(plan: Plan, host: Host) -> bool:
    result = run(
        "ssh", "-q", "-i", str(plan.key), "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=2",
        "-o", "BatchMode=yes", f"root@{host.address}", "true",
        check=False,
    )  # fmt: skip
    return result.returncode == 0


def exists(kind: str, name: str) -> bool:
    return run("docker", kind, "inspect", name, check=False).returncode == 0


def up(plan: Plan) -> None:
    ensure_key(plan.key)
    if not exists("image", plan.image):
        sys.exit(f"image {plan.image} is missing: run test_hosts/build-node-image.sh")
    if not exists("network", plan.network):
        run("docker", "network", "create", "--driver", "bridge", "--subnet", plan.subnet,
            "--label", f"{LABEL}=1", plan.network)  # fmt: skip
    started = []
    for host in plan.hosts:
        if exists("container", host.name):
            run("docker", "start", host.name)
            print(f"{host.name} {host.address} exists (started)")
            continue
        run(
            "docker", "run", "-d", "--name", host.name, "--hostname", host.name,
            "--network", plan.network, "--ip", host.address, *RUN_FLAGS,
            # containerd's root must not be overlayfs on overlayfs: a named volume.
            "-v", f"{host.name}-containerd:/var/lib/containerd",
            "-v", f"{plan.key}.pub:/etc/test-host/authorized_keys:ro",
            "--label", f"{LABEL}=1", plan.image,
        )  # fmt: skip
        started.append((host, time.monotonic()))
    for host, t0 in started:
        deadline = t0 + SSH_WAIT_SECONDS
        while not ssh_answers(plan, host):
            if time.monotonic() > deadline:
                sys.exit(f"{host.name}: sshd did not answer within {SSH_WAIT_SECONDS} s")
            time.sleep(0.5)
        print(f"{host.name} {host.address} up, ssh answers after {time.monotonic() - t0:.1f} s")


def down(plan: Plan, keep_network: bool = False) -> None:
    for host in plan.hosts:
        labels = run("docker", "inspect", "--format", "{{json .Config.Labels}}", host.name, check=False)
        if labels.returncode != 0:
            continue
        if LABEL not in json.loads(labels.stdout or "{}"):
            print(f"{host.name}: not a test host (no {LABEL} label), left alone")
            continue
        run("docker", "rm", "-f", "-v", host.name)
        print(f"removed container {host.name}")
        if run("docker", "volume", "rm", f"{host.name}-containerd", check=False).returncode == 0:
            print(f"removed volume {host.name}-containerd")
    if keep_network:
        return
    removed = exists("network", plan.network) and run("docker", "network", "rm", plan.network, check=False)
    if removed and removed.returncode == 0:
        print(f"removed network {plan.network}")


def status(plan: Plan) -> None:
    for host in plan.hosts:
        inspect = run("docker", "inspect", "--format", "{{.State.Status}}", host.name, check=False)
        state = inspect.stdout.strip()
        mem = ""
        if state == "running":
            mem = run("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", host.name).stdout.strip()
        print(f"{host.name} {host.address} {state or 'absent'} {mem}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("inventory")
    parser.add_argument("--only", metavar="NAME", help="act on this host of the inventory alone")
    args = parser.parse_args()
    plan = read_plan(args.inventory)
    if args.only:
        only = [h for h in plan.hosts if h.name == args.only]
        if not only:
            sys.exit(f"{args.inventory}: no host {args.only}")
        plan = Plan(only, plan.network, plan.subnet, plan.image, plan.key)
    if args.action == "down":
        down(plan, keep_network=bool(args.only))
    else:
        {"up": up, "status": status}[args.action](plan)


if __name__ == "__main__":
    main()
