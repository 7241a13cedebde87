"""Time three ways of deploying the same prod service on the same cluster, waits included:

- site.yml (the collection): first deploy (into the empty namespace with its deployer identity, as cluster.yml
  leaves it), no-op rerun, image-change rollout;
- `kubectl apply -f` of the manifests render.yml writes, then `kubectl rollout status`;
- `helm upgrade --install --wait` of bench/chart (the same objects as a chart).

Each goes into its own namespace (site.yml into cloudnative-prod, the others into cloudnative-bench-kubectl
and cloudnative-bench-helm, with their own ingress host) so they never share an object. The image change is
the same image pushed under a new tag, so every method pulls nothing new and rolls every pod.

    .venv/bin/python bench/deploy/deploy_times.py [--rounds 1] [--out bench/results/deploy-times.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/load"))
from load_registry import Registry, registry_password, split_image  # noqa: E402

sys.path.insert(0, str(REPO / "bench/deploy"))
from chart_equivalence import differences  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
KUBECONFIG = "/etc/kubernetes/admin.conf"
KUBECTL = "/opt/cloudnative/bin/kubectl" if os.path.exists("/opt/cloudnative/bin/kubectl") else "kubectl"
HELM_VERSION = "v3.22.0"
HELM = pathlib.Path.home() / f".cache/cloudnative-httpserver/bin/helm-{HELM_VERSION}/helm"
REGISTRY = "registry.cloudnative:5000"
REGISTRY_CA = "/etc/cloudnative/registry/ca.crt"
PROD_NS = "cloudnative-prod"
WORK = REPO / "bench/results/tmp/deploy"
KIND_ORDER = [
    "Namespace",
    "Secret",
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "Ingress",
]


def sh(command: list[str], log: str, timeout: float = 900, check: bool = True) -> float:
    """Run a command, log its output under WORK, return its wall time in seconds."""
    WORK.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KUBECONFIG=KUBECONFIG, ANSIBLE_NOCOLOR="1")
    start = time.monotonic()
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    seconds = time.monotonic() - start
    (WORK / f"{log}.log").write_text(
        f"$ {' '.join(command)}\n# rc={proc.returncode} {seconds:.1f}s\n{proc.stdout}{proc.stderr}"
    )
    if check and proc.returncode != 0:
        raise SystemExit(
            f"{log}: {' '.join(command[:4])}... failed (rc={proc.returncode}), see {WORK}/{log}.log:\n"
            + (proc.stdout + proc.stderr)[-3000:]
        )
    print(f"  {log}: {seconds:.1f}s", flush=True)
    return seconds


def kubectl(*args: str) -> str:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", KUBECONFIG, *args], check=True, capture_output=True, text=True, timeout=300
    ).stdout


def delete_namespace(ns: str) -> None:
    subprocess.run(
        [
            KUBECTL,
            "--kubeconfig",
            KUBECONFIG,
            "delete",
            "namespace",
            ns,
            "--ignore-not-found",
            "--wait=true",
            "--timeout=300s",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=360,
    )


def playbook(name: str, inventory: str, *extra: str) -> list[str]:
    return [str(BIN / "ansible-playbook"), f"playbooks/{name}.yml", "-i", inventory, *extra]


_RENDERED: list[dict] = []


def render_manifests(ns: str, host: str) -> list[dict]:
    """render.yml for prod (with secrets, rendered once), moved to namespace ``ns`` and ingress ``host``."""
    if not _RENDERED:
        out, tls = WORK / "render", WORK / "render-tls"
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(tls, ignore_errors=True)
        # A certificate of its own (own CA, in a scratch directory) that names the bench hosts: the ingress
        # refuses a handshake for a name no served certificate holds (sniStrict).
        names = '{"tls_extra_names": ["bench-kubectl.cloudnative", "bench-helm.cloudnative"]}'
        render_args = ["-e", f"render_dir={out}", "-e", "render_secrets=true"]
        render_args += ["-e", f"tls_dir={tls}", "-e", names]
        sh(playbook("render", "inventories/prod", *render_args), "render")
        for path in sorted(out.rglob("*.y*ml")):
            _RENDERED.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
        shutil.rmtree(out)  # it held the TLS key and the registry password
        shutil.rmtree(tls)
    docs = copy.deepcopy(_RENDERED)
    for doc in docs:
        if doc["kind"] == "Namespace":
            doc["metadata"]["name"] = ns
        else:
            doc["metadata"]["namespace"] = ns
        if doc["kind"] == "Ingress":
            doc["spec"]["tls"][0]["hosts"] = [host]
            doc["spec"]["rules"][0]["host"] = host
    return sorted(docs, key=lambda d: KIND_ORDER.index(d["kind"]) if d["kind"] in KIND_ORDER else 99)


def write_private(path: pathlib.Path, docs: list[dict]) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    path.chmod(0o600)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def set_image(docs: list[dict], image: str) -> list[dict]:
    for doc in docs:
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0]["image"] = image
            labels = doc["spec"]["template"]["metadata"]["labels"]
            labels["app.kubernetes.io/version"] = image.rpartition(":")[2][:63]
    return docs


def deployed_image() -> str:
    deployment = json.loads(kubectl("-n", PROD_NS, "get", "deployment", "httpserver", "-o", "json"))
    return deployment["spec"]["template"]["spec"]["containers"][0]["image"]


def retagged(image: str) -> str:
    """The same image pushed under a new tag: a real image change that pulls nothing new."""
    host, repository, tag = split_image(image)
    new_tag = f"bench-{int(time.time())}"
    Registry(REGISTRY, REGISTRY_CA, "cloudnative", registry_password()).retag(repository, tag, new_tag)
    return f"{host}/{repository}:{new_tag}"


def median_of(runs: int, command: list[str], log: str) -> tuple[float, list[float]]:
    times = [sh(command, f"{log}-{i}") for i in range(1, runs + 1)]
    return statistics.median(times), [round(t, 2) for t in times]


def time_empty_playbook(runs: int) -> dict:
    """The floor: ansible-playbook with one play and no task, on the same inventory.

    Its play uses the linear strategy, as site.yml's do: ansible.cfg's default (Mitogen's, for cluster.yml)
    starts its interpreters even for an empty play, which would raise the floor by about 0.25 s.
    """
    print("empty ansible-playbook run:", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=WORK, delete=False) as empty:
        empty.write(
            "- name: Nothing\n  hosts: prod\n  strategy: linear\n  gather_facts: false\n  tasks: []\n"
        )
    try:
        median, times = median_of(
            runs, [str(BIN / "ansible-playbook"), empty.name, "-i", "inventories/prod"], "empty"
        )
    finally:
        os.unlink(empty.name)
    return {"median_s": round(median, 2), "runs_s": times}


def recap_of(log: pathlib.Path) -> str:
    lines = [line for line in log.read_text().splitlines() if "changed=" in line]
    return re.sub(r"\s+", " ", lines[-1].strip()) if lines else ""


def settle_until_noop(attempts: int = 4, pause_s: float = 10) -> None:
    """Untimed: right after a first deploy the HPA has not read the new pods' metrics yet, so the next run
    deploys in full (the fast path requires ScalingActive). Rerun, a bounded number of times, until a run
    changes nothing."""
    for attempt in range(1, attempts + 1):
        sh(playbook("site", "inventories/prod"), f"site-settle-{attempt}")
        if "changed=0" in recap_of(WORK / f"site-settle-{attempt}.log"):
            return
        time.sleep(pause_s)
    raise SystemExit(f"site.yml still changed something after {attempts} runs, see {WORK}/site-settle-*.log")


def time_site(runs: int) -> dict:
    print("site.yml (namespace cloudnative-prod):", flush=True)
    delete_namespace(PROD_NS)
    # The environment's namespace and deployer identity are cluster.yml's (role deployer_access): given back
    # untimed, so the first deploy starts where a user's does, in an empty namespace with a deployer.
    sh(
        playbook("cluster", "inventories/prod", "--tags", "addons", "-e", "cluster_settled_force=true"),
        "site-deployer",
    )
    first = sh(playbook("site", "inventories/prod"), "site-first")
    settle_until_noop()
    noop, noop_runs = median_of(runs, playbook("site", "inventories/prod"), "site-noop")
    recaps = [recap_of(WORK / f"site-noop-{i}.log") for i in range(1, runs + 1)]
    if any("changed=0" not in line for line in recaps):
        raise SystemExit(f"a no-op run changed something: {recaps}")
    new_tag = retagged(deployed_image()).rpartition(":")[2]
    image = sh(playbook("site", "inventories/prod", "-e", f"httpserver_image_tag={new_tag}"), "site-image")
    sh(playbook("site", "inventories/prod"), "site-restore")
    return {
        "first_deploy_s": round(first, 1),
        "noop_rerun_s": round(noop, 2),
        "noop_runs_s": noop_runs,
        "image_change_s": round(image, 1),
        "noop_recap": recaps[-1] if recaps else "",
    }


def time_kubectl(image: str, new_image: str) -> dict:
    ns = "cloudnative-bench-kubectl"
    print(f"kubectl apply + rollout status (namespace {ns}):", flush=True)
    delete_namespace(ns)
    docs = render_manifests(ns, "bench-kubectl.cloudnative")
    manifest = write_private(WORK / "kubectl/all.yaml", set_image(docs, image))
    status = [
        KUBECTL,
        "--kubeconfig",
        KUBECONFIG,
        "-n",
        ns,
        "rollout",
        "status",
        "deployment/httpserver",
        "--timeout=300s",
    ]
    apply = [KUBECTL, "--kubeconfig", KUBECONFIG, "apply", "-f", str(manifest)]
    first = sh(apply, "kubectl-first-apply") + sh(status, "kubectl-first-status")
    # What site.yml waits for besides the rollout, timed on top: the service answering through the ingress,
    # then the HPA's ScalingActive (which needs a metrics window after the new pods are ready).
    host = "bench-kubectl.cloudnative"
    ingress = [
        "curl",
        "-fsS",
        "-o",
        "/dev/null",
        "--retry",
        "60",
        "--retry-delay",
        "1",
        "--retry-all-errors",
        # The bench's certificate comes from a scratch CA of its own.
        "--insecure",
        "--resolve",
        f"{host}:443:127.0.0.1",
        f"https://{host}/prod/healthz",
    ]
    hpa = [
        KUBECTL,
        "--kubeconfig",
        KUBECONFIG,
        "-n",
        ns,
        "wait",
        "hpa/httpserver",
        "--for=condition=ScalingActive",
        "--timeout=300s",
    ]
    with_https = first + sh(ingress, "kubectl-first-ingress")
    same_waits = with_https + sh(hpa, "kubectl-first-hpa")
    noop = sh(apply, "kubectl-noop-apply") + sh(status, "kubectl-noop-status")
    write_private(manifest, set_image(docs, new_image))
    change = sh(apply, "kubectl-image-apply") + sh(status, "kubectl-image-status")
    change_https = change + sh(ingress, "kubectl-image-ingress")
    manifest.unlink()
    delete_namespace(ns)
    return {
        "first_deploy_s": round(first, 1),
        "first_deploy_with_https_s": round(with_https, 1),
        "first_deploy_with_site_waits_s": round(same_waits, 1),
        "noop_rerun_s": round(noop, 1),
        "image_change_s": round(change, 1),
        "image_change_with_https_s": round(change_https, 1),
    }


def time_helm(image: str, new_image: str) -> dict:
    ns = "cloudnative-bench-helm"
    print(f"helm upgrade --install --wait (namespace {ns}):", flush=True)
    if not HELM.exists():
        raise SystemExit(f"no helm at {HELM}: run bench/deploy/build-helm.sh")
    delete_namespace(ns)
    docs = render_manifests(ns, "bench-helm.cloudnative")
    # The chart holds the workload; the Namespace (with its Pod Security labels) and the two Secrets are
    # applied first, as for kubectl, and timed with it.
    prereq = write_private(
        WORK / "helm/prereq.yaml", [d for d in docs if d["kind"] in ("Namespace", "Secret")]
    )
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    app_config = yaml.safe_load(config["data"]["config.yaml"])
    app_config.pop("env")
    values = WORK / "helm/values.yaml"
    values.write_text(yaml.safe_dump({"ingress": {"host": "bench-helm.cloudnative"}, "config": app_config}))

    def upgrade(img: str) -> list[str]:
        return [
            str(HELM),
            "upgrade",
            "--install",
            "httpserver",
            "bench/chart",
            "--kubeconfig",
            KUBECONFIG,
            "-n",
            ns,
            "--wait",
            "--timeout",
            "300s",
            "-f",
            str(values),
            "--set",
            f"image={img}",
        ]

    pre = [KUBECTL, "--kubeconfig", KUBECONFIG, "apply", "-f", str(prereq)]
    first = sh(pre, "helm-first-prereq") + sh(upgrade(image), "helm-first")
    noop = sh(pre, "helm-noop-prereq") + sh(upgrade(image), "helm-noop")
    change = sh(upgrade(new_image), "helm-image")
    prereq.unlink()
    sh(
        [str(HELM), "uninstall", "httpserver", "--kubeconfig", KUBECONFIG, "-n", ns, "--wait"],
        "helm-uninstall",
    )
    delete_namespace(ns)
    return {
        "first_deploy_s": round(first, 1),
        "noop_rerun_s": round(noop, 1),
        "image_change_s": round(change, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench/results/deploy-times.json"))
    parser.add_argument(
        "--skip-site", action="store_true", help="only kubectl and helm (site.yml already timed)"
    )
    parser.add_argument("--runs", type=int, default=5, help="no-op and empty runs (the median is kept)")
    args = parser.parse_args()

    if not HELM.exists():
        raise SystemExit(f"no helm at {HELM}: run bench/deploy/build-helm.sh")
    problems = differences()
    if problems:
        raise SystemExit("bench/chart is not equivalent to render.yml:\n" + "\n".join(problems))
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "bench/deploy/deploy_times.py",
        "kubernetes": json.loads(kubectl("version", "-o", "json"))["serverVersion"]["gitVersion"],
        "helm": HELM_VERSION,
        "machine": f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}",
    }
    results["empty ansible-playbook"] = time_empty_playbook(args.runs)
    if not args.skip_site:
        results["site.yml"] = time_site(args.runs)
    image = deployed_image()
    new_image = retagged(image)
    results.update(image=image, new_image=new_image)
    results["kubectl apply + rollout status"] = time_kubectl(image, new_image)
    results["helm upgrade --install --wait"] = time_helm(image, new_image)
    if "site.yml" in results:
        site, kube, empty = (
            results["site.yml"],
            results["kubectl apply + rollout status"],
            results["empty ansible-playbook"],
        )
        results["targets"] = {
            "noop_s (<= 5)": site["noop_rerun_s"],
            "noop_minus_empty_s (<= 1.5)": round(site["noop_rerun_s"] - empty["median_s"], 2),
            "first_deploy_vs_kubectl_with_https (<= 2)": round(
                site["first_deploy_s"] / kube["first_deploy_with_https_s"], 2
            ),
            "image_change_vs_kubectl_with_https (<= 2)": round(
                site["image_change_s"] / kube["image_change_with_https_s"], 2
            ),
        }
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
