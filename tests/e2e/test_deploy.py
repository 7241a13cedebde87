"""End-to-end checks of the deploy collection on the real cluster: site.yml deploys dev and prod, both answer
over HTTPS through the ingress with the generated CA, log levels differ, a rerun changes nothing, a config
change reaches the pods, an image change applies only the ConfigMap and the Deployment, and a rollout that
cannot complete is rolled back while the old version serves.

Every request goes to https://cloudnative (127.0.0.1, the ingress). Needs the cluster (playbooks/cluster.yml)
and the registry; without them the fixtures fail with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from conftest import REGISTRY_CA, REGISTRY_USER, registry_password

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
KUBECONFIG = "/etc/kubernetes/admin.conf"
CA = "/etc/cloudnative/tls/ca.crt"
BASE = "https://cloudnative"
MISSING_IMAGE = "registry.cloudnative:5000/cloudnative/httpserver:0.0.0-missing"
# A bad rollout's deadline in the rollback tests (prod's is 300 s): a good one takes about 9 s, and a failed
# pull or an app that exits at start shows in the pod's status within seconds.
BAD_ROLLOUT_DEADLINE = 30
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def site(env: str, *extra: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run playbooks/site.yml for one environment; returns the finished process (never raises on failure)."""
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/site.yml", "-i", f"inventories/{env}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def recap_changed(proc: subprocess.CompletedProcess) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", proc.stdout)
    assert match, f"no PLAY RECAP in the output:\n{proc.stdout[-3000:]}"
    return int(match.group(1))


def kubectl(*args: str) -> str:
    proc = subprocess.run(
        ["kubectl", f"--kubeconfig={KUBECONFIG}", *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def get(path: str) -> requests.Response:
    return requests.get(f"{BASE}{path}", verify=CA, timeout=10)


class Poller:
    """Sends GET requests in a background thread until stopped; counts every outcome."""

    def __init__(self, path: str, interval: float = 0.1) -> None:
        self.path, self.interval = path, interval
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        session = requests.Session()
        deadline = time.monotonic() + 1200  # bounded even if never stopped
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                status = session.get(f"{BASE}{self.path}", verify=CA, timeout=5).status_code
                self.outcomes[str(status)] += 1
            except requests.RequestException as error:
                self.outcomes[type(error).__name__] += 1
            time.sleep(self.interval)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def failures(self) -> dict[str, int]:
        return {k: v for k, v in self.outcomes.items() if k != "200"}


def deployment(env: str) -> dict:
    return json.loads(kubectl("-n", f"cloudnative-{env}", "get", "deployment", "httpserver", "-o", "json"))


def assert_rollout_complete(env: str) -> None:
    d = deployment(env)
    want = d["spec"]["replicas"]
    s = d["status"]
    assert s.get("observedGeneration") == d["metadata"]["generation"], s
    assert s.get("updatedReplicas") == s.get("readyReplicas") == s.get("availableReplicas") == want, s


@pytest.fixture(scope="module")
def deployed(core_v1) -> dict[str, subprocess.CompletedProcess]:
    """Both environments deployed by site.yml (without a cluster, core_v1 fails first with the reason)."""
    runs = {}
    for env in ("dev", "prod"):
        proc = site(env)
        assert proc.returncode == 0, (
            f"site.yml for {env} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-2000:]}"
        )
        runs[env] = proc
    return runs


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_fibo_answers_55_over_https_through_the_ingress(deployed, env):
    response = get(f"/{env}/fibo?n=10")
    assert response.status_code == 200, response.text
    assert response.json() == {"result": 55}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rollout_is_complete_and_the_play_says_how_to_reach_it(deployed, env):
    assert_rollout_complete(env)
    assert f"curl --cacert {CA} {BASE}/{env}/fibo?n=10" in deployed[env].stdout


def test_dev_logs_debug_lines_and_prod_does_not(deployed):
    n = 1000 + int(time.time()) % 5000  # a value not asked for before: a cache miss, logged at DEBUG
    for env in ("dev", "prod"):
        assert get(f"/{env}/fibo?n={n}").status_code == 200
    logs = {
        env: kubectl(
            "-n", f"cloudnative-{env}", "logs", "-l", "app.kubernetes.io/name=httpserver", "--tail=-1"
        )
        for env in ("dev", "prod")
    }
    assert "DEBUG" in logs["dev"], logs["dev"][-2000:]
    assert "DEBUG" not in logs["prod"], [line for line in logs["prod"].splitlines() if "DEBUG" in line][:5]
    assert "INFO" in logs["prod"]


def test_second_run_changes_nothing_and_takes_the_fast_path(deployed):
    proc = site("dev")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap_changed(proc) == 0, proc.stdout[-4000:]
    fast = "Nothing to change: cloudnative-dev/httpserver runs exactly this"
    assert fast in proc.stdout, proc.stdout[-4000:]
    assert "Roll out registry.cloudnative" not in proc.stdout, "the fast path still ran the rollout"


def test_a_run_without_the_recorded_fingerprint_deploys_in_full_and_records_it(deployed):
    annotation = "cloudnative.httpserver/fingerprint"
    recorded = deployment("dev")["metadata"]["annotations"][annotation]
    kubectl("-n", "cloudnative-dev", "annotate", "deployment/httpserver", f"{annotation}-")
    proc = site("dev")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Full deploy: the Deployment records another fingerprint" in proc.stdout, proc.stdout[-4000:]
    assert "Wait for the HPA to read the pods' CPU metrics" in proc.stdout, "the full path skipped its waits"
    assert recap_changed(proc) == 1, proc.stdout[-4000:]  # only the fingerprint, recorded again
    assert deployment("dev")["metadata"]["annotations"][annotation] == recorded


def test_a_forced_full_deploy_changes_only_the_fingerprint_it_removes_first_and_records_again(deployed):
    proc = site("dev", "-e", "deploy_settled_force=true")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Full deploy: forced (deploy_settled_force)" in proc.stdout, proc.stdout[-4000:]
    assert "Forget the recorded fingerprint before the full deploy changes anything" in proc.stdout
    assert recap_changed(proc) == 2, proc.stdout[-4000:]


def test_check_mode_reports_a_change_without_making_it(deployed):
    before = deployment("dev")["metadata"]["generation"]
    proc = site("dev", "--check", "--diff", "-e", "config_max_n=77")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap_changed(proc) >= 2, proc.stdout[-4000:]  # a new ConfigMap and the Deployment using it
    assert "max_n: 77" in proc.stdout
    assert deployment("dev")["metadata"]["generation"] == before
    assert get("/dev/fibo?n=100").status_code == 200


def test_config_change_reaches_the_pods_by_a_rolling_update(deployed):
    before = get("/dev/fibo?n=60")
    assert before.status_code == 200, before.text
    old_config = deployment("dev")["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    with Poller("/dev/healthz") as poller:
        changed = site("dev", "-e", "config_max_n=50")
    try:
        assert changed.returncode == 0, changed.stdout[-4000:]
        new_config = deployment("dev")["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
        assert new_config != old_config
        assert_rollout_complete("dev")
        over = get("/dev/fibo?n=60")
        assert over.status_code == 422 and "max_n=50" in over.text, over.text
        assert not poller.failures, f"requests failed during the config rollout: {dict(poller.outcomes)}"
    finally:
        restored = site("dev")
    assert restored.returncode == 0, restored.stdout[-4000:]
    assert get("/dev/fibo?n=60").status_code == 200


def push_under_new_tag(image: str, tag: str) -> None:
    """Push the manifest of ``image`` (registry/repository:tag@digest) again under ``tag``: a new image name
    that pulls nothing new."""
    match = re.fullmatch(r"(?P<host>[^/]+)/(?P<repo>[^:@]+):(?P<tag>[^@]+)(@sha256:[0-9a-f]{64})?", image)
    assert match, image
    session = requests.Session()
    session.auth, session.verify = (REGISTRY_USER, registry_password()), str(REGISTRY_CA)
    base = f"https://{match['host']}/v2/{match['repo']}/manifests"
    manifest = session.get(
        f"{base}/{match['tag']}", headers={"Accept": ", ".join(MANIFEST_TYPES)}, timeout=10
    )
    assert manifest.status_code == 200, manifest.text
    put = session.put(
        f"{base}/{tag}",
        data=manifest.content,
        headers={"Content-Type": manifest.headers["Content-Type"]},
        timeout=10,
    )
    assert put.status_code == 201, put.text


def test_an_image_change_applies_only_the_configmap_and_the_deployment(deployed):
    before = deployment("dev")["spec"]["template"]["spec"]["containers"][0]["image"]
    tag = f"e2e-{int(time.time())}"
    push_under_new_tag(before, tag)
    try:
        proc = site("dev", "-e", f"httpserver_image_tag={tag}")
        assert proc.returncode == 0, proc.stdout[-4000:]
        said = " ".join(proc.stdout.split())  # the callback wraps long messages
        assert "only those two are applied, and the Deployment rolled out" in said, proc.stdout[-4000:]
        assert "Apply the Deployment and wait for it to be Available" in proc.stdout, proc.stdout[-4000:]
        assert "Apply the ConfigMap" in proc.stdout, "the ConfigMap (it carries the version) was not applied"
        for skipped in (
            "Apply the Namespace",
            "Apply the TLS Secret",
            "Apply the imagePullSecret",
            "Apply the NetworkPolicies",
            "Apply the PodDisruptionBudget",
        ):
            assert skipped not in proc.stdout, f"{skipped} ran although nothing but the image changed"
        image = deployment("dev")["spec"]["template"]["spec"]["containers"][0]["image"]
        assert f":{tag}@sha256:" in image, image
        assert_rollout_complete("dev")
        assert get("/dev/fibo?n=10").json() == {"result": 55}
    finally:
        restored = site("dev")
    assert restored.returncode == 0, restored.stdout[-4000:]
    assert deployment("dev")["spec"]["template"]["spec"]["containers"][0]["image"] == before


@pytest.mark.parametrize(
    ("what", "extra", "cause"),
    [
        (
            # Past the image role's registry check (an image deleted after it): the pull fails in the cluster.
            "an image that cannot be pulled",
            ("-e", f"deploy_image={MISSING_IMAGE}"),
            r"ErrImagePull|ImagePullBackOff",
        ),
        ("a config value the app refuses", ("-e", "config_max_n=2000000"), r"key 'max_n': must be between"),
    ],
    ids=["missing-image", "broken-config"],
)
def test_failed_rollout_is_rolled_back_while_the_old_version_serves(deployed, what, extra, cause):
    before = deployment("prod")["spec"]["template"]["spec"]["containers"][0]["image"]
    with Poller("/prod/fibo?n=10") as poller:
        proc = site("prod", *extra, "-e", f"deploy_rollout_timeout={BAD_ROLLOUT_DEADLINE}")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"site.yml succeeded with {what}:\n{proc.stdout[-3000:]}"
    assert f"did not complete within {BAD_ROLLOUT_DEADLINE}s" in output, output[-5000:]
    assert re.search(r"Pod httpserver-[a-z0-9]+-[a-z0-9]+ not ready", output), output[-5000:]
    assert re.search(cause, output), f"the failure does not name the cause ({cause}):\n{output[-5000:]}"
    assert f"Rolled back to {before}" in output, output[-5000:]
    assert deployment("prod")["spec"]["template"]["spec"]["containers"][0]["image"] == before
    assert_rollout_complete("prod")
    assert poller.outcomes["200"] > 100, dict(poller.outcomes)
    assert not poller.failures, (
        f"requests failed while {what} was rolled out and back: {dict(poller.outcomes)}"
    )
    assert get("/prod/fibo?n=10").json() == {"result": 55}


@pytest.mark.parametrize("var", ["httpserver_image_tag=0.0.0-missing", f"httpserver_image={MISSING_IMAGE}"])
def test_an_image_the_registry_lacks_fails_before_any_change(deployed, var):
    before = deployment("prod")
    proc = site("prod", "-e", var)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert f"The registry has no {MISSING_IMAGE}" in proc.stdout, proc.stdout[-3000:]
    after = deployment("prod")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert get("/prod/fibo?n=10").json() == {"result": 55}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_deployment_runs_its_image_by_the_digest_the_registry_gives(deployed, env):
    image = deployment(env)["spec"]["template"]["spec"]["containers"][0]["image"]
    pattern = r"(?P<host>[^/]+)/(?P<repo>[^:@]+):(?P<tag>[^@]+)@(?P<digest>sha256:[0-9a-f]{64})"
    match = re.fullmatch(pattern, image)
    assert match, f"the {env} Deployment names its image without a digest: {image}"
    head = requests.head(
        f"https://{match['host']}/v2/{match['repo']}/manifests/{match['tag']}",
        auth=(REGISTRY_USER, registry_password()),
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
        verify=str(REGISTRY_CA),
        timeout=10,
    )
    assert head.status_code == 200, head.status_code
    assert head.headers["Docker-Content-Digest"] == match["digest"]
