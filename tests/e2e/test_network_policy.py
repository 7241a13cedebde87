"""NetworkPolicy, enforced: the prod namespace refuses every connection but the ingress controller's to the
app's port, and its pods may only query the cluster DNS. A probe pod in another namespace tries the app's pod,
its Service and, as a control that the probe has a network at all, the ingress controller's pod and the DNS
Service. Needs the cluster (with its enforcer, kube-router's firewall controller) and the prod deployment from
`make up`.
"""

from __future__ import annotations

import json

import pytest
import requests
from conftest import busybox_pod, kubectl, wait_for_pod_end
from kubernetes import client

APP_NAMESPACE = "cloudnative-prod"
APP_SELECTOR = "app.kubernetes.io/name=httpserver,app.kubernetes.io/instance=httpserver-prod"
CONNECT_TIMEOUT = 3
# Tries a TCP connection to each host:port argument; prints {"host:port": "open" | "<error>"} as JSON.
PROBE = f"""
import json, socket, sys
results = {{}}
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout={CONNECT_TIMEOUT}).close()
        results[target] = "open"
    except OSError as error:
        results[target] = type(error).__name__
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def app(core_v1) -> dict:
    """The prod app's image, pull secret, one pod's IP and port, and its Service's address."""
    pods = core_v1.list_namespaced_pod(APP_NAMESPACE, label_selector=APP_SELECTOR).items
    running = [p for p in pods if p.status.phase == "Running" and p.status.pod_ip]
    assert running, f"no running app pod in {APP_NAMESPACE} (run `make up`)"
    pod = running[0]
    container = pod.spec.containers[0]
    service = core_v1.read_namespaced_service("httpserver", APP_NAMESPACE)
    return {
        "pod": pod.metadata.name,
        "image": container.image,
        "port": container.ports[0].container_port,
        "pod_ip": pod.status.pod_ip,
        "service": f"{service.spec.cluster_ip}:{service.spec.ports[0].port}",
        "pull_secret": pod.spec.image_pull_secrets[0].name,
    }


def pod_ip(core_v1, namespace: str, selector: str) -> str:
    pods = [
        p for p in core_v1.list_namespaced_pod(namespace, label_selector=selector).items if p.status.pod_ip
    ]
    assert pods, f"no pod {selector} in {namespace}"
    return pods[0].status.pod_ip


def probe_from(core_v1, namespace: str, image: str, pull_secret: str, targets: list[str]) -> dict[str, str]:
    """Run the probe in a pod of `namespace` (restricted Pod Security) and return its results."""
    # The restricted pod the other e2e tests use, running the image's python instead of its entrypoint.
    pod = busybox_pod("probe", image, pull_secret, list(targets), restart="Never")
    pod.spec.containers[0].command = ["python3", "-c", PROBE]
    core_v1.create_namespaced_pod(namespace, pod)
    budget = 60 + CONNECT_TIMEOUT * len(targets)
    phase = wait_for_pod_end(core_v1, namespace, "probe", budget, "the probe pod to finish")
    log = core_v1.read_namespaced_pod_log("probe", namespace)
    assert phase == "Succeeded", f"the probe failed: {log}"
    return json.loads(log.strip().splitlines()[-1])


def copy_pull_secret(core_v1, name: str, namespace: str) -> None:
    secret = core_v1.read_namespaced_secret(name, APP_NAMESPACE)
    core_v1.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name=name), type=secret.type, data=secret.data),
    )


def test_a_pod_in_another_namespace_cannot_reach_the_app_but_reaches_what_is_open(core_v1, namespace, app):
    copy_pull_secret(core_v1, app["pull_secret"], namespace)
    ingress = pod_ip(core_v1, "ingress", "app.kubernetes.io/name=traefik")
    app_pod = f"{app['pod_ip']}:{app['port']}"
    results = probe_from(
        core_v1,
        namespace,
        app["image"],
        app["pull_secret"],
        [app_pod, app["service"], f"{ingress}:443", "10.96.0.10:53"],
    )
    assert results[f"{ingress}:443"] == "open", f"the probe has no network at all: {results}"
    assert results["10.96.0.10:53"] == "open", results
    assert results[app_pod] != "open", f"the app's pod answered a pod of another namespace: {results}"
    assert results[app["service"]] != "open", (
        f"the app's Service answered a pod of another namespace: {results}"
    )


def test_the_ingress_controller_still_reaches_the_app(app):
    answer = requests.get(
        "https://cloudnative/prod/fibo?n=10", verify="/etc/cloudnative/tls/ca.crt", timeout=10
    )
    assert answer.status_code == 200 and answer.json() == {"result": 55}, answer.text


def test_the_app_pods_resolve_names_but_reach_nothing_else(app):
    script = (
        "import socket; print(socket.getaddrinfo('kubernetes.default.svc.cluster.local', 443)[0][4][0]);"
        f" socket.create_connection(('kubernetes.default.svc.cluster.local', 443), timeout={CONNECT_TIMEOUT})"
    )
    proc = kubectl(
        "exec",
        "-n",
        APP_NAMESPACE,
        app["pod"],
        "-c",
        "httpserver",
        "--",
        "python3",
        "-c",
        script,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines and lines[0] == "10.96.0.1", (
        f"DNS did not resolve from the app's pod: {proc.stdout}{proc.stderr}"
    )
    assert proc.returncode != 0, "the app's pod opened a connection to the API server: egress is not denied"
    # Python's last traceback line names the exception (kubectl adds its own line after it).
    errors = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith(("TimeoutError", "ConnectionRefusedError"))
    ]
    assert errors, proc.stderr
