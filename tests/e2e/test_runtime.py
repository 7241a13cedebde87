"""The node layer: supervisor runs containerd and Docker Engine, the pause image runs, the kernel forwards.

Runs against what the supervisor and container_runtime roles set up (playbooks/cluster.yml). A piece that
does not answer makes its test fail with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

BIN_DIR = Path(os.environ.get("CLOUDNATIVE_BIN_DIR", "/opt/cloudnative/bin"))
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CNI_CONFLIST = Path("/etc/cni/net.d/10-cloudnative.conflist")
CNI_BIN_DIR = Path("/usr/lib/cni")
PAUSE_IMAGE = os.environ.get("CLOUDNATIVE_PAUSE_IMAGE", "docker.io/cloudnative/pause:3.10.1")
POD_CIDR = "10.244.0.0/16"
LOG_DIR = Path("/var/log/cloudnative")


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def ctr(*args: str, namespace: str = "k8s.io", timeout: float = 60) -> subprocess.CompletedProcess:
    built = BIN_DIR / "ctr"
    binary = str(built) if built.is_file() else shutil.which("ctr") or "ctr"
    return run(binary, f"--address={CONTAINERD_SOCKET}", f"--namespace={namespace}", *args, timeout=timeout)


def supervisor_state(program: str) -> str:
    if shutil.which("supervisorctl") is None:
        pytest.fail("supervisorctl is missing: run the supervisor role", pytrace=False)
    status = run("supervisorctl", "status", program)
    if "no such process" in status.stdout or status.returncode == 4:
        pytest.fail(f"supervisor has no program {program}: {status.stdout.strip()}", pytrace=False)
    fields = status.stdout.split()
    return fields[1] if len(fields) > 1 else status.stdout.strip()


@pytest.mark.parametrize("program", ["cloudnative-containerd", "cloudnative-dockerd", "cloudnative-registry"])
def test_node_daemons_run_under_supervisor_and_log_to_files(program):
    assert supervisor_state(program) == "RUNNING", f"{program} is not RUNNING under supervisor"
    log = LOG_DIR / f"{program.removeprefix('cloudnative-')}.log"
    assert log.is_file() and log.stat().st_size > 0, f"{log} is missing or empty"


def test_supervisor_restarts_a_program_that_dies():
    before = run("supervisorctl", "pid", "cloudnative-registry").stdout.strip()
    if not before.isdigit() or before == "0":
        pytest.fail(f"cloudnative-registry has no pid ({before!r}): is it running?", pytrace=False)
    os.kill(int(before), 9)
    deadline = time.monotonic() + 30
    after = before
    while time.monotonic() < deadline:
        after = run("supervisorctl", "pid", "cloudnative-registry").stdout.strip()
        restarted = after.isdigit() and after not in ("0", before)
        if restarted and supervisor_state("cloudnative-registry") == "RUNNING":
            break
        time.sleep(0.5)
    assert after.isdigit() and after not in ("0", before), "supervisor did not restart the killed registry"
    assert supervisor_state("cloudnative-registry") == "RUNNING"


def test_containerd_answers_and_is_the_built_one_when_present():
    version = ctr("version")
    assert version.returncode == 0, f"containerd does not answer on {CONTAINERD_SOCKET}: {version.stderr}"
    server = version.stdout.split("Server:", 1)[-1]
    assert "Version:" in server, version.stdout
    if (BIN_DIR / "containerd").is_file():
        assert "v1.7." in server, f"the cluster should run the built containerd 1.7, got: {server.strip()}"


def test_pause_image_is_in_the_cri_namespace_under_its_full_name():
    listed = ctr("images", "list", "--quiet")
    assert listed.returncode == 0, listed.stderr
    assert PAUSE_IMAGE in listed.stdout.split(), f"{PAUSE_IMAGE} is not in containerd's k8s.io namespace"


def test_pause_container_runs_and_exits_on_sigterm():
    container = f"e2e-pause-{uuid.uuid4().hex[:8]}"
    try:
        started = ctr("run", "--detach", PAUSE_IMAGE, container)
        assert started.returncode == 0, f"ctr run of {PAUSE_IMAGE} failed: {started.stderr.strip()}"
        tasks = ctr("tasks", "list").stdout.splitlines()
        assert any(line.split()[:1] == [container] and "RUNNING" in line for line in tasks), tasks
        killed = ctr("tasks", "kill", "--signal", "SIGTERM", container)
        assert killed.returncode == 0, killed.stderr
        deadline = time.monotonic() + 10
        state = ""
        while time.monotonic() < deadline:
            line = next((x for x in ctr("tasks", "list").stdout.splitlines() if x.startswith(container)), "")
            state = line.split()[2] if len(line.split()) > 2 else ""
            if state == "STOPPED":
                break
            time.sleep(0.2)
        assert state == "STOPPED", f"pause did not exit within 10 s of SIGTERM (state {state!r})"
    finally:
        ctr("tasks", "delete", "--force", container)
        ctr("containers", "delete", container)
    assert container not in ctr("containers", "list", "--quiet").stdout.split()


def test_docker_engine_answers_with_overlay2_and_cgroupfs():
    info = run("docker", "info", "--format", "{{json .}}", timeout=20)
    assert info.returncode == 0, f"docker info fails: {info.stderr.strip()}"
    data = json.loads(info.stdout)
    assert data["Driver"] == "overlay2", data["Driver"]
    assert data["CgroupDriver"] == "cgroupfs", data["CgroupDriver"]


def test_docker_engine_runs_a_container_as_image_builds_do(tmp_path):
    busybox = Path("/bin/busybox")
    if not busybox.is_file():
        pytest.fail(f"{busybox} is missing: apt-get install busybox-static", pytrace=False)
    tag = f"cloudnative/e2e-runtime:{uuid.uuid4().hex[:8]}"
    layer = tmp_path / "layer.tar"
    subprocess.run(["tar", "-C", "/", "-cf", str(layer), "bin/busybox"], check=True, timeout=30)
    imported = run("docker", "import", str(layer), tag)
    assert imported.returncode == 0, f"docker import failed: {imported.stderr.strip()}"
    try:
        ran = run("docker", "run", "--rm", tag, "/bin/busybox", "echo", "built-here")
        assert ran.returncode == 0, f"docker run failed: {ran.stderr.strip()}"
        assert ran.stdout.strip() == "built-here"
    finally:
        run("docker", "rmi", "--force", tag)


def test_cni_bridge_network_uses_the_pod_cidr_and_debian_plugins():
    if not CNI_CONFLIST.is_file():
        pytest.fail(f"{CNI_CONFLIST} is missing: run the container_runtime role", pytrace=False)
    conflist = json.loads(CNI_CONFLIST.read_text())
    plugins = {plugin["type"]: plugin for plugin in conflist["plugins"]}
    assert plugins["bridge"]["bridge"] == "cni0"
    assert plugins["bridge"]["ipam"]["type"] == "host-local"
    assert plugins["bridge"]["ipam"]["ranges"] == [[{"subnet": POD_CIDR}]]
    assert plugins["portmap"]["capabilities"] == {"portMappings": True}
    for binary in ("bridge", "host-local", "portmap", "loopback", "firewall"):
        assert os.access(CNI_BIN_DIR / binary, os.X_OK), f"CNI plugin {binary} missing from {CNI_BIN_DIR}"


def test_kernel_forwards_and_filters_bridged_traffic():
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    assert bridge_nf.is_file(), "br_netfilter is not available"
    assert bridge_nf.read_text().strip() == "1"


@pytest.mark.parametrize("name", ["cloudnative", "registry.cloudnative"])
def test_cluster_host_names_resolve_to_loopback(name):
    assert socket.gethostbyname(name) == "127.0.0.1"
