"""What the load tests act on: the prod deployment (from the test inventory), the load client aimed at
the ingress on 127.0.0.1:443, site.yml runs, and where results (series for the plots, logs) go."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
from load_k8s import Cluster, ReplicaRecorder
from loadgen import LoadGenerator, PinnedHTTPSConnection, Result, make_tls_context

REPO = pathlib.Path(__file__).resolve().parents[2]
KUBECONFIG = os.environ.get("CLOUDNATIVE_KUBECONFIG", "/etc/kubernetes/admin.conf")
TLS_CA = "/etc/cloudnative/tls/ca.crt"
REGISTRY_CA = "/etc/cloudnative/registry/ca.crt"
REGISTRY = "registry.cloudnative:5000"
INGRESS = ("127.0.0.1", 443)
HOST = "cloudnative"
ENV = "prod"
NAMESPACE = "cloudnative-prod"
TEST_INVENTORY = REPO / "tests/load/inventory"
PROD_INVENTORY = REPO / "inventories/prod"
PLAYBOOK = REPO / "playbooks/site.yml"
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).with_name("ansible-playbook"))
RESULTS = pathlib.Path(os.environ.get("LOAD_RESULTS_DIR", REPO / "build/load-results"))
BASELINE_VERSION = "load-baseline"


@dataclass
class PlaybookRun:
    command: list[str]
    rc: int
    output: str
    seconds: float
    log: pathlib.Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_site(
    inventory: pathlib.Path, extra_vars: dict | None, name: str, timeout: float = 900
) -> PlaybookRun:
    """Run site.yml against ``inventory`` with ``extra_vars``; the output goes to RESULTS/<name>.log."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    command = [ANSIBLE_PLAYBOOK, str(PLAYBOOK), "-i", str(inventory)]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        rc, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        rc, output = -1, out + f"\n[load tests] site.yml did not finish within {timeout:.0f}s"
    seconds = time.monotonic() - start
    log = RESULTS / f"{name}.log"
    log.write_text(f"$ {shlex.join(command)}\n# rc={rc} in {seconds:.1f}s\n{output}")
    return PlaybookRun(command, rc, output, seconds, log)


def https_get(path: str, headers: dict | None = None, timeout: float = 30.0) -> tuple[int, dict, bytes]:
    """One GET through the ingress (127.0.0.1:443, SNI and Host `cloudnative`, the generated CA)."""
    conn = PinnedHTTPSConnection(
        HOST, INGRESS[1], INGRESS[0], timeout=timeout, context=make_tls_context(TLS_CA)
    )
    try:
        conn.request("GET", f"/{ENV}{path}", headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@dataclass
class LoadEnv:
    """What the tests act on: the cluster, the deploy settings in force, and the result files."""

    cluster: Cluster
    image: str  # full reference of the image deployed at the start
    extra_vars: dict = field(default_factory=dict)  # what the last successful deploy used

    @property
    def image_tag(self) -> str:
        return self.image.split("@")[0].rpartition(":")[2]

    def load(self, path: str, rate: float = 100, duration: float = 120, **kwargs) -> LoadGenerator:
        kwargs.setdefault("timeout", 10.0)
        return LoadGenerator(
            f"https://{HOST}/{ENV}{path}",
            rate=rate,
            duration=duration,
            connect=f"{INGRESS[0]}:{INGRESS[1]}",
            cafile=TLS_CA,
            **kwargs,
        )

    def deploy(
        self, changes: dict, name: str, timeout: float = 900, inventory: pathlib.Path = TEST_INVENTORY
    ) -> PlaybookRun:
        """site.yml with the test inventory and the settings in force plus ``changes``."""
        return run_site(inventory, {**self.extra_vars, **changes}, name, timeout)

    def recorder(self) -> ReplicaRecorder:
        return ReplicaRecorder(self.cluster)

    def save(
        self, name: str, result: Result, recorder: ReplicaRecorder | None = None, **extra
    ) -> pathlib.Path:
        """Write the run's summary, per-second series and replica samples for the report and plots."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        data = result.to_json()
        data["replicas"] = [
            dict(s, t=round(s["time"] - result.started_at, 2)) for s in (recorder.samples if recorder else [])
        ]
        data.update(extra)
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(data, indent=1, default=str))
        return path


def preflight() -> Cluster:
    """Fail (never skip) with the reason when the cluster or the ingress is not there."""
    problems = []
    if not os.path.exists(KUBECONFIG):
        problems.append(f"no kubeconfig at {KUBECONFIG} (run `make cluster` first)")
    if problems:
        pytest.fail("load tests cannot run: " + "; ".join(problems), pytrace=False)
    cluster = Cluster(KUBECONFIG, NAMESPACE)
    try:
        cluster.server_version()
    except Exception as exc:
        pytest.fail(
            f"load tests cannot run: the API server behind {KUBECONFIG} does not answer: {exc}", pytrace=False
        )
    try:
        socket.create_connection(INGRESS, 5).close()
    except OSError as exc:
        pytest.fail(
            f"load tests cannot run: nothing listens on {INGRESS[0]}:{INGRESS[1]} (ingress): {exc}",
            pytrace=False,
        )
    return cluster


def assert_steady_rate(result: Result, rate: float) -> None:
    """The client really sent the asked rate (else a 'zero failures' would prove little)."""
    expected = rate * result.elapsed
    assert result.total >= 0.9 * expected - rate, (
        f"only {result.total} requests in {result.elapsed:.1f}s at {rate}/s: {result.summary()}"
    )
    # Seconds late at worst: the client catches up (every request is still sent), but a longer stall
    # means this machine, not the service, was being measured.
    assert result.max_lag() < 5.0, f"the client fell behind its schedule: {result.summary()}"
