"""Cluster helpers for the load tests: read the Deployment and its pods, kill or delete pods, and
record the replica count over time. Uses the kubernetes client with the admin kubeconfig."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kubernetes import client, config
from kubernetes.client.rest import ApiException

CRICTL_CANDIDATES = ("/opt/cloudnative/bin/crictl", "/usr/local/bin/crictl", "/usr/bin/crictl")
CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock"


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 1.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned), or raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = predicate()
        except ApiException as exc:  # a transient API error is a "not yet", reported if it lasts
            last = f"API error {exc.status}: {exc.reason}"
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


class Cluster:
    """The app's Deployment in one namespace, seen through the Kubernetes API."""

    def __init__(self, kubeconfig: str, namespace: str, name: str = "httpserver"):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.name = name
        api_client = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.autoscaling = client.AutoscalingV2Api(api_client)
        self.api_client = api_client

    # -- reading -----------------------------------------------------------------------------
    def server_version(self) -> str:
        return client.VersionApi(self.api_client).get_code().git_version

    def deployment(self):
        return self.apps.read_namespaced_deployment(self.name, self.namespace)

    def hpa(self):
        return self.autoscaling.read_namespaced_horizontal_pod_autoscaler(self.name, self.namespace)

    def selector(self) -> str:
        labels = self.deployment().spec.selector.match_labels
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def pods(self, include_terminating: bool = False) -> list:
        items = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector()).items
        if not include_terminating:
            items = [p for p in items if p.metadata.deletion_timestamp is None]
        return sorted(items, key=lambda p: p.metadata.name)

    @staticmethod
    def is_ready(pod) -> bool:
        return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))

    def ready_pods(self) -> list:
        return [p for p in self.pods() if self.is_ready(p) and p.status.phase == "Running"]

    def rollout_complete(self) -> bool:
        d = self.deployment()
        s = d.status
        want = d.spec.replicas
        return bool(
            (s.observed_generation or 0) >= d.metadata.generation
            and (s.updated_replicas or 0) == want
            and (s.ready_replicas or 0) == want
            and (s.available_replicas or 0) == want
            and (s.replicas or 0) == want
        )

    def image(self) -> str:
        return self.deployment().spec.template.spec.containers[0].image

    def configmap_name(self) -> str:
        for v in self.deployment().spec.template.spec.volumes or []:
            if v.config_map is not None:
                return v.config_map.name
        return ""

    def events(self, involved: str) -> list[str]:
        items = self.core.list_namespaced_event(
            self.namespace, field_selector=f"involvedObject.name={involved}"
        ).items
        return [f"{e.type} {e.reason}: {e.message}" for e in items]

    def logs(self, pod: str, since_seconds: int = 120) -> str:
        return self.core.read_namespaced_pod_log(pod, self.namespace, since_seconds=since_seconds)

    # -- acting ------------------------------------------------------------------------------
    def delete_pod(self, pod: str, grace_seconds: int | None = None) -> None:
        body = (
            client.V1DeleteOptions(grace_period_seconds=grace_seconds) if grace_seconds is not None else None
        )
        self.core.delete_namespaced_pod(pod, self.namespace, body=body)

    def scale_hpa_bounds(self, minimum: int, maximum: int) -> None:
        self.autoscaling.patch_namespaced_horizontal_pod_autoscaler(
            self.name, self.namespace, {"spec": {"minReplicas": minimum, "maxReplicas": maximum}}
        )


def crictl() -> list[str]:
    for path in CRICTL_CANDIDATES:
        if os.path.exists(path):
            return [path, "--runtime-endpoint", CONTAINERD_SOCKET]
    raise AssertionError(f"crictl not found in {CRICTL_CANDIDATES}")


def container_inspect(pod, container: str = "httpserver") -> dict:
    """`crictl inspect` of the pod's running container (its info has the host PID and the OCI spec)."""
    status = next(s for s in pod.status.container_statuses if s.name == container)
    container_id = status.container_id.split("://", 1)[-1]
    out = subprocess.run(
        [*crictl(), "inspect", container_id], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    return json.loads(out)


def container_pid(pod, container: str = "httpserver") -> int:
    pid = int(container_inspect(pod, container)["info"]["pid"])
    assert pid > 1, f"no host PID for {pod.metadata.name}/{container}"
    return pid


def sigkill_container(pod, container: str = "httpserver") -> int:
    """SIGKILL the container's main process (the app, PID 1 in its namespace) from the host."""
    pid = container_pid(pod, container)
    os.kill(pid, signal.SIGKILL)
    return pid


def restart_count(pod, container: str = "httpserver") -> int:
    return next(s.restart_count for s in pod.status.container_statuses if s.name == container)


@dataclass
class ReplicaRecorder:
    """Samples the Deployment (and HPA if any) every ``interval`` seconds in a thread.

    Each sample: wall time, desired/ready/updated replicas, HPA desired replicas and CPU utilization.
    """

    cluster: Cluster
    interval: float = 1.0
    samples: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replica-recorder", daemon=True)

    def __enter__(self) -> ReplicaRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            sample: dict = {"time": time.time()}
            try:
                d = self.cluster.deployment()
                sample.update(
                    desired=d.spec.replicas,
                    ready=d.status.ready_replicas or 0,
                    updated=d.status.updated_replicas or 0,
                    total=d.status.replicas or 0,
                )
            except ApiException as exc:
                sample["error"] = f"deployment: {exc.status}"
            try:
                h = self.cluster.hpa()
                sample["hpa_desired"] = h.status.desired_replicas
                cpu = [
                    m.resource.current.average_utilization
                    for m in (h.status.current_metrics or [])
                    if m.type == "Resource" and m.resource is not None
                ]
                sample["cpu_utilization"] = cpu[0] if cpu else None
            except ApiException:
                pass
            self.samples.append(sample)
            self._stop.wait(self.interval)

    def max_ready(self) -> int:
        return max((s.get("ready", 0) for s in self.samples), default=0)
