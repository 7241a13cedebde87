"""Losing a pod under a steady 100 requests/s, with two or more replicas: deleting it, or a SIGKILL of its app
process, loses no request."""

from __future__ import annotations

import time

import pytest
from kubernetes.client.rest import ApiException
from load_env import LoadEnv, assert_steady_rate
from load_k8s import restart_count, sigkill_container, wait_for

RATE = 100
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


def test_sigkill_of_the_app_process_loses_no_request(steady: LoadEnv):
    """A request already written to the process when it dies gets no answer: Traefik's patched retry
    middleware sends such a GET again, to another pod or the same one (cluster_addons_ingress_retry_attempts).
    Those sent to the dying pod afterwards fail at connect and are retried too, until a process answers."""
    pod = steady.cluster.ready_pods()[-1]
    name, restarts = pod.metadata.name, restart_count(pod)

    def restarted_and_ready():
        current = next((p for p in steady.cluster.ready_pods() if p.metadata.name == name), None)
        return current is not None and restart_count(current) > restarts

    with steady.recorder() as recorder, steady.load("/fibo?n=10", rate=RATE, duration=150) as gen:
        time.sleep(3)
        pid = sigkill_container(pod)
        wait_for(restarted_and_ready, 90, what=f"the killed container of {name} to restart and be ready")
        time.sleep(3)
        gen.stop()
    result = gen.result
    steady.save("pod-loss-sigkill", result, recorder, victim=name, host_pid=pid)
    assert result.failed == 0, result.describe_failures()
    assert_steady_rate(result, RATE)
    assert steady.cluster.rollout_complete()
