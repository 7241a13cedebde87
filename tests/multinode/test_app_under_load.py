"""The app on the multi-node cluster: deployed by site.yml with replicas on different nodes, answering over
HTTPS through the ingress, and draining a worker under steady load fails no request.

The load is open-loop (tests/load/loadgen.py: every request recorded, bounded in time) and goes to a host of
group kube_ingress that is not the drained one: Traefik runs one replica on each of those hosts, on their host
ports, so a drain or loss of one leaves the other answering.
"""

from __future__ import annotations

import json
import time

from conftest import APP_NAMESPACE, Cluster, Host, slow_window, wait_for

RATE = 20  # requests per second
LOAD_SECONDS = 240  # upper bound; the test stops the load once the node is back
SETTLE = 5  # seconds of load before the drain and after the uncordon
DRAIN_TIMEOUT = 180


def test_the_app_answers_through_each_ingress_host_with_replicas_on_two_nodes(app: Cluster) -> None:
    via = app.control_plane[0]
    nodes = set(app.app_pod_nodes(via).values())
    assert len(nodes) >= 2, f"the app's ready replicas run on {sorted(nodes)}: fewer than 2 nodes"
    for host in app.ingress:
        status, body = app.app_get(host)
        assert (status, json.loads(body)) == (200, {"result": 55}), f"through {host.name}: {status} {body}"


def test_draining_a_worker_under_load_fails_no_request(app: Cluster) -> None:
    """Drains a node of group kube_node that runs a replica of the app (a worker-only host first; here the
    control-plane hosts run pods too), so that the drain evicts one while the load runs."""
    before = app.app_pod_nodes(app.control_plane[0])
    candidates = [h for h in app.workers() + app.control_plane if h.name in before.values()]
    assert candidates, f"no node of the inventory runs a replica of the app: {before}"
    worker = candidates[0]
    via = next(h for h in app.control_plane if h != worker)
    target = app.ingress_for([worker])
    print(f"app pods before the drain: {before}; draining {worker.name}; load through {target.name}")
    load = app.load(target, RATE, LOAD_SECONDS).start()
    drained = uncordoned = None
    try:
        time.sleep(SETTLE)
        start = time.monotonic()
        drain = app.kubectl(
            via,
            f"drain {worker.name} --ignore-daemonsets --delete-emptydir-data --timeout={DRAIN_TIMEOUT}s",
            timeout=DRAIN_TIMEOUT + 30,
        )
        drained = time.monotonic() - start
        assert drain.returncode == 0, f"drain failed: {drain.stdout} {drain.stderr}"
        # The evicted replicas come back on other nodes before the worker is uncordoned.
        back = wait_for(
            lambda: (
                len(app.app_pod_nodes(via)) >= len(before)
                and worker.name not in app.app_pod_nodes(via).values()
            ),
            timeout=120,
            interval=2,
        )
        after = app.app_pod_nodes(via)
        print(f"drained in {drained:.1f} s; replicas back in {back} s: {after}")
        uncordon = app.kubectl(via, f"uncordon {worker.name}")
        assert uncordon.returncode == 0, uncordon.stderr
        uncordoned = time.monotonic() - start
        time.sleep(SETTLE)
    finally:
        load.stop()
        result = load.join()
    summary = result.summary()
    print(f"load through {target.name}, draining {worker.name}: {json.dumps(summary)}; {slow_window(result)}")
    assert result.total >= RATE * 2 * SETTLE, f"too few requests sent: {summary}"
    assert result.failed == 0, f"{result.failed} requests failed:\n{result.describe_failures()}"
    assert back is not None, f"the app's replicas did not come back on other nodes: {after}"
    assert len(set(after.values())) >= 2, f"after the drain the replicas share a node: {after}"
    print(f"drain {drained:.1f} s, uncordon at {uncordoned:.1f} s")
    # Leave the cluster as it was: the worker schedulable, and Traefik back on it if it is an ingress host.
    if worker in app.ingress:
        back_on = wait_for(lambda: traefik_ready_on(app, via, worker.name), timeout=120, interval=2)
        assert back_on is not None, f"Traefik not back on {worker.name} after the uncordon"


def traefik_ready_on(cluster: Cluster, via: Host, node: str) -> bool:
    got = cluster.kubectl(via, "get pods -n ingress -l app.kubernetes.io/name=traefik -o json")
    if got.returncode != 0:
        return False
    for pod in json.loads(got.stdout)["items"]:
        if pod["spec"].get("nodeName") == node and any(
            c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", [])
        ):
            return True
    return False


def test_the_app_has_a_disruption_budget_and_an_autoscaler(app: Cluster) -> None:
    got = app.kubectl(app.control_plane[0], f"get pdb,hpa -n {APP_NAMESPACE} -o name")
    assert "poddisruptionbudget.policy/httpserver" in got.stdout, got.stdout + got.stderr
    assert "horizontalpodautoscaler.autoscaling/httpserver" in got.stdout, got.stdout + got.stderr
