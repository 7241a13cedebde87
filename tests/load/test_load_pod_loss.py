"""Losing a pod under a steady 100 requests/s, with two or more replicas: deleting it loses no request; a
SIGKILL of its app process loses at most the requests that process was serving at that instant, none after."""

from __future__ import annotations

import time

import pytest
from kubernetes.client.rest import ApiException
from load_env import LoadEnv, assert_steady_rate
from load_k8s import restart_count, sigkill_container, wait_for

RATE = 100
# Requests the killed process can have been serving at once at 100 req/s over two pods (each takes ~2 ms).
MAX_IN_FLIGHT = 3
pytestmark = pytest.mark.timeout(300, func_only=True)


def gone(env: LoadEnv, name: str) -> bool:
    try:
        env.cluster.core.read_namespaced_pod(name, env.cluster.namespace)
    except ApiException as exc:
        return exc.status == 404
    return False


def test_deleting_a_pod_under_load_loses_no_request(steady: LoadEnv):
    victim = steady.cluster.ready_pods()[0].metadata.name
    with steady.recorder() as recorder, steady.load("/fibo?n=10", rate=RATE, duration=150) as gen:
        time.sleep(3)
        steady.cluster.delete_pod(victim)
        deleted = time.monotonic()
        wait_for(lambda: gone(steady, victim), 90, interval=0.5, what=f"pod {victim} to be gone")
        gone_after = time.monotonic() - deleted
        wait_for(steady.cluster.rollout_complete, 90, what="the Deployment to heal")
        time.sleep(3)
        gen.stop()
    result = gen.result
    steady.save("pod-loss-delete", result, recorder, victim=victim, pod_gone_after_s=round(gone_after, 1))
    assert result.failed == 0, result.describe_failures()
    assert_steady_rate(result, RATE)
    assert victim not in {p.metadata.name for p in steady.cluster.pods()}
    assert len(steady.cluster.ready_pods()) == steady.cluster.deployment().spec.replicas >= 2


def test_sigkill_of_the_app_process_loses_only_the_requests_it_was_serving(steady: LoadEnv):
    """A request already written to the process when it dies has no answer to give: the ingress retries a
    request only while no backend has received it (Traefik's retry middleware stops once the request headers
    were written, as resending a request a backend may have acted on is unsafe in general). So a SIGKILL may
    cost the few requests in flight on that process at that instant (a 502 each); every other request, those
    sent to the dying pod afterwards included, must be answered."""
    pod = steady.cluster.ready_pods()[-1]
    name, restarts = pod.metadata.name, restart_count(pod)

    def restarted_and_ready():
        current = next((p for p in steady.cluster.ready_pods() if p.metadata.name == name), None)
        return current is not None and restart_count(current) > restarts

    with steady.recorder() as recorder, steady.load("/fibo?n=10", rate=RATE, duration=150) as gen:
        time.sleep(3)
        before_kill = time.time()
        pid = sigkill_container(pod)
        killed = time.time()
        wait_for(restarted_and_ready, 90, what=f"the killed container of {name} to restart and be ready")
        time.sleep(3)
        gen.stop()
    result = gen.result
    steady.save("pod-loss-sigkill", result, recorder, victim=name, host_pid=pid)
    window_start, window_end = before_kill - result.started_at - 0.05, killed - result.started_at + 0.05
    not_in_flight = [
        s for s in result.failures if not (s.started < window_end and s.started + s.latency > window_start)
    ]
    assert not not_in_flight, (
        f"requests failed that were not in flight when the process was killed "
        f"(t={window_start:.2f}-{window_end:.2f}s): {result.describe_failures()}"
    )
    assert result.failed <= MAX_IN_FLIGHT, result.describe_failures()
    assert_steady_rate(result, RATE)
    assert steady.cluster.rollout_complete()
