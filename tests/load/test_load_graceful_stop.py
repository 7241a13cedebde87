"""A slow request in flight when its pod is deleted still completes with 200."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from load_env import LoadEnv, https_get
from load_k8s import wait_for

pytestmark = pytest.mark.timeout(300, func_only=True)


def test_a_slow_request_in_flight_when_its_pod_is_deleted_completes(steady: LoadEnv):
    # The largest n the config allows, cache off (test inventory): several seconds of work in the pod.
    n = int(steady.extra_vars.get("config_max_n", 1_000_000))
    request_id = f"graceful-{uuid.uuid4()}"
    outcome: dict = {}

    def slow_request():
        start = time.monotonic()
        try:
            status, headers, body = https_get(
                f"/fibo?n={n}", headers={"X-Request-ID": request_id}, timeout=120
            )
            outcome.update(status=status, body=body, request_id=headers.get("x-request-id"))
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
        outcome["finished"] = time.monotonic()
        outcome["seconds"] = outcome["finished"] - start

    thread = threading.Thread(target=slow_request)
    thread.start()

    def pod_serving_it():
        for pod in steady.cluster.ready_pods():
            if request_id in steady.cluster.logs(pod.metadata.name, since_seconds=60):
                return pod.metadata.name
        return None

    pod = wait_for(pod_serving_it, 10, interval=0.2, what=f"a pod to log request {request_id}")
    steady.cluster.delete_pod(pod)
    deleted_at = time.monotonic()
    thread.join(150)

    assert "error" not in outcome, f"the in-flight request failed after its pod {pod} was deleted: {outcome}"
    assert outcome["status"] == 200, outcome
    assert outcome["request_id"] == request_id
    assert outcome["body"].startswith(b'{"result": ') and len(outcome["body"]) > 100_000, outcome["body"][
        :100
    ]
    assert outcome["finished"] > deleted_at, "the request ended before the pod was deleted: not a real test"
    pod_after = steady.cluster.core.list_namespaced_pod(
        steady.cluster.namespace, field_selector=f"metadata.name={pod}"
    )
    assert not pod_after.items or pod_after.items[0].metadata.deletion_timestamp is not None
    wait_for(steady.cluster.rollout_complete, 90, what="the Deployment to replace the deleted pod")
