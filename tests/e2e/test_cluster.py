"""The cluster that playbooks/cluster.yml brings up: node, Services, DNS, ingress and metrics, for real."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import subprocess
import time
import urllib.request

from conftest import REGISTRY, busybox_pod, crane, kubectl, pod_ready, wait_for, wait_for_pod_end
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client

INGRESS_ADDRESS = "127.0.0.1"
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


def serve_hello(core_v1, namespace: str, image: str, secret: str, text: str) -> str:
    """Run a busybox httpd pod serving `text` on :8080 behind a ClusterIP Service `hello`; return its IP."""
    command = [
        "sh",
        "-c",
        f"mkdir -p /tmp/www && echo {text} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www",
    ]
    pod = busybox_pod("hello", image, secret, command, port=8080)
    pod.spec.containers[0].readiness_probe = client.V1Probe(
        http_get=client.V1HTTPGetAction(path="/", port=8080), period_seconds=1
    )
    core_v1.create_namespaced_pod(namespace, pod)
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="hello"),
        spec=client.V1ServiceSpec(
            selector={"app": "hello"}, ports=[client.V1ServicePort(port=80, target_port=8080, name="http")]
        ),
    )
    cluster_ip = core_v1.create_namespaced_service(namespace, service).spec.cluster_ip
    wait_for(lambda: pod_ready(core_v1, namespace, "hello"), 120, what="the hello pod to be Ready")
    return cluster_ip


def test_node_is_ready_and_schedulable(core_v1):
    nodes = core_v1.list_node().items
    assert len(nodes) == 1, f"expected one node, found {[n.metadata.name for n in nodes]}"
    node = nodes[0]
    ready = {c.type: c.status for c in node.status.conditions}.get("Ready")
    assert ready == "True", f"node {node.metadata.name} Ready={ready}"
    assert "node-role.kubernetes.io/control-plane" in node.metadata.labels
    taints = [t.key for t in node.spec.taints or [] if t.effect == "NoSchedule"]
    assert taints == [], f"the single node must run workloads, but it has NoSchedule taints {taints}"


def test_pod_is_reachable_from_the_host_through_its_cluster_ip(
    core_v1, namespace, busybox_image, pull_secret
):
    cluster_ip = serve_hello(core_v1, namespace, busybox_image, pull_secret, "hello-through-kube-proxy")

    def fetch():
        with urllib.request.urlopen(f"http://{cluster_ip}/", timeout=3) as response:
            return response.read().decode()

    body = wait_for(fetch, 30, what=f"http://{cluster_ip}/ to answer through kube-proxy's rules")
    assert body.strip() == "hello-through-kube-proxy"


def test_cluster_dns_resolves_a_service_name_inside_a_pod(core_v1, namespace, busybox_image, pull_secret):
    cluster_ip = serve_hello(core_v1, namespace, busybox_image, pull_secret, "hello-by-name")
    fqdn = f"hello.{namespace}.svc.cluster.local"
    # busybox's nslookup asks the pod's nameserver itself; its wget crashes resolving under static glibc, so
    # nc fetches from the address nslookup returned: DNS answer and Service routing, both from inside a pod.
    # kube-proxy programs a new Service's rules a moment after the Service exists (seconds on a loaded host;
    # until then the packet leaves by the default route): nc tries up to 15 times, a second apart.
    script = (
        f"cat /etc/resolv.conf; nslookup {fqdn} | tee /tmp/answer; "
        "ip=$(awk '/^Address: /{print $2}' /tmp/answer | tail -n 1); "
        'echo "fetching $ip"; for i in $(seq 15); do '
        'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 "$ip" 80 > /tmp/body; '
        "grep -q hello-by-name /tmp/body && break; sleep 1; done; cat /tmp/body"
    )
    core_v1.create_namespaced_pod(
        namespace, busybox_pod("client", busybox_image, pull_secret, ["sh", "-c", script], restart="Never")
    )

    phase = wait_for_pod_end(core_v1, namespace, "client", 120, "the DNS client pod to finish")
    logs = core_v1.read_namespaced_pod_log("client", namespace)
    assert phase == "Succeeded", f"client pod {phase}; its log:\n{logs}"
    assert "nameserver 10.96.0.10" in logs, f"the pod does not use the cluster DNS:\n{logs}"
    assert f"search {namespace}.svc.cluster.local svc.cluster.local cluster.local" in logs, logs
    assert f"Address: {cluster_ip}" in logs, f"{fqdn} did not resolve to {cluster_ip}:\n{logs}"
    assert "hello-by-name" in logs, f"the Service did not answer at the resolved address:\n{logs}"


def self_signed(host: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "5", *args],
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


def test_ingress_routes_https_from_loopback_443(
    kube_api, core_v1, namespace, busybox_image, pull_secret, tmp_path
):
    serve_hello(core_v1, namespace, busybox_image, pull_secret, "hello-through-traefik")
    host = f"{namespace}.e2e.cloudnative.test"
    cert_pem, key_pem = self_signed(host)
    (tmp_path / "ca.crt").write_text(cert_pem)
    core_v1.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="hello-tls"),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert_pem, "tls.key": key_pem},
        ),
    )
    ingress = client.V1Ingress(
        metadata=client.V1ObjectMeta(name="hello"),
        spec=client.V1IngressSpec(
            tls=[client.V1IngressTLS(hosts=[host], secret_name="hello-tls")],
            rules=[
                client.V1IngressRule(
                    host=host,
                    http=client.V1HTTPIngressRuleValue(
                        paths=[
                            client.V1HTTPIngressPath(
                                path="/",
                                path_type="Prefix",
                                backend=client.V1IngressBackend(
                                    service=client.V1IngressServiceBackend(
                                        name="hello", port=client.V1ServiceBackendPort(number=80)
                                    )
                                ),
                            )
                        ]
                    ),
                )
            ],
        ),
    )
    client.NetworkingV1Api(kube_api).create_namespaced_ingress(namespace, ingress)
    resolve = ["--resolve", f"{host}:443:{INGRESS_ADDRESS}"]

    attempts: list[str] = []

    def fetch():
        proc = curl(*resolve, "--cacert", str(tmp_path / "ca.crt"), f"https://{host}/")
        attempts.append(f"rc={proc.returncode} {proc.stderr.strip()} {proc.stdout.strip()[:80]}")
        return proc.returncode == 0 and proc.stdout.strip() == "hello-through-traefik" and proc.stdout

    # Verifying against the test certificate proves Traefik served the Ingress's own TLS Secret.
    body = wait_for(
        fetch,
        60,
        what=f"https://{host}/ on {INGRESS_ADDRESS}:443 to serve the Ingress (last: {attempts[-1:]})",
    )
    assert body.strip() == "hello-through-traefik"

    plain = curl(
        "--resolve",
        f"{host}:80:{INGRESS_ADDRESS}",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        f"http://{host}/",
    )
    code, _, location = plain.stdout.partition(" ")
    assert code in ("301", "308"), f"port 80 answered {plain.stdout!r} {plain.stderr!r}, expected a redirect"
    assert location.startswith(f"https://{host}"), f"redirected to {location!r}"


def test_metrics_api_returns_pod_and_node_metrics():
    def pod_metrics():
        proc = kubectl(
            "get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods", check=False
        )
        if proc.returncode != 0:
            return None
        items = json.loads(proc.stdout)["items"]
        return [i for i in items if i["metadata"]["name"].startswith("coredns-")]

    items = wait_for(pod_metrics, 90, interval=3, what="metrics of the CoreDNS pod from the metrics API")
    usage = items[0]["containers"][0]["usage"]
    assert set(usage) >= {"cpu", "memory"}, usage
    assert usage["memory"] not in ("0", "0Ki"), f"CoreDNS reported no memory use: {usage}"

    nodes = kubectl("top", "nodes", "--no-headers").stdout.split()
    assert nodes and nodes[1].endswith("m"), f"kubectl top nodes printed {nodes}"


def test_a_pod_without_a_pull_secret_cannot_pull_from_the_registry(core_v1, namespace, busybox_image):
    """The node holds no registry credentials of its own (root's ~/.docker/config.json is not the kubelet's):
    a pod pulls the project's private images only with its namespace's imagePullSecret."""
    pod = busybox_pod("no-secret", busybox_image, "none", ["true"], restart="Never")
    pod.spec.image_pull_secrets = None
    pod.spec.containers[0].image_pull_policy = "Always"
    core_v1.create_namespaced_pod(namespace, pod)

    def waiting_reason() -> str:
        statuses = core_v1.read_namespaced_pod("no-secret", namespace).status.container_statuses or []
        state = statuses[0].state if statuses else None
        if state and state.waiting and state.waiting.reason in ("ErrImagePull", "ImagePullBackOff"):
            return f"{state.waiting.reason}: {state.waiting.message}"
        assert not (state and (state.running or state.terminated)), (
            "the pod pulled the image without credentials"
        )
        return ""

    reason = wait_for(waiting_reason, timeout=60, what="the pull to be refused")
    assert "401" in reason or "unauthorized" in reason.lower() or "authorization failed" in reason.lower(), (
        reason
    )


def test_the_conformance_images_are_pulled_without_a_pull_secret_and_only_those(
    core_v1, namespace, busybox_image, crane_env
):
    """The kubelet's credential provider holds the registry's credentials for <registry>/conformance/ only
    (cloudnative_secretless_pull_images): the upstream suite's pods, which carry no secret, run; the test
    above shows the same pod is refused the project's own path."""
    ref = f"{REGISTRY}/conformance/e2e-probe/busybox:1"
    crane("copy", busybox_image, ref, env=crane_env)
    pod = busybox_pod("secretless", ref, "none", ["true"], restart="Never")
    pod.spec.image_pull_secrets = None
    pod.spec.containers[0].image_pull_policy = "Always"
    core_v1.create_namespaced_pod(namespace, pod)

    what = f"the pod pulling {ref} without a secret to finish"
    assert wait_for_pod_end(core_v1, namespace, "secretless", 60, what) == "Succeeded"


def test_a_cluster_ip_port_that_no_service_serves_is_refused_on_the_node(
    core_v1, namespace, busybox_image, pull_secret
):
    """Traffic to the Service range that kube-proxy did not rewrite is rejected on the node, not sent out by
    the default route (where a router or proxy might answer it, as this machine's egress proxy does)."""
    cluster_ip = serve_hello(core_v1, namespace, busybox_image, pull_secret, "hello-port-80-only")
    used = {s.spec.cluster_ip for s in core_v1.list_service_for_all_namespaces().items}
    unused = next(str(ip) for ip in SERVICE_CIDR.hosts() if str(ip) not in used and ip.packed[-1] == 200)
    for address, port in ((cluster_ip, 81), (unused, 80)):
        started = time.monotonic()
        try:
            with socket.create_connection((address, port), timeout=5):
                raise AssertionError(f"{address}:{port} accepted a connection from the host")
        except ConnectionRefusedError:
            pass
        assert time.monotonic() - started < 2, f"{address}:{port} was not refused at once"

    script = (
        f"nc -w 3 {cluster_ip} 80 </dev/null && echo open-80; "
        f"nc -w 3 {cluster_ip} 81 </dev/null && echo open-81; "
        f"nc -w 3 {unused} 80 </dev/null && echo open-unused; echo done"
    )
    core_v1.create_namespaced_pod(
        namespace, busybox_pod("prober", busybox_image, pull_secret, ["sh", "-c", script], restart="Never")
    )

    wait_for_pod_end(core_v1, namespace, "prober", 60, "the probing pod to finish")
    logs = core_v1.read_namespaced_pod_log("prober", namespace)
    assert "open-80" in logs and "done" in logs, f"the Service's own port did not answer the pod:\n{logs}"
    assert "open-81" not in logs and "open-unused" not in logs, f"an unserved ClusterIP answered:\n{logs}"
