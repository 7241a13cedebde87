"""Losing one control-plane host: the API takes writes, etcd keeps quorum, the app answers every request, and
the host rejoins by itself.

The host's container is SIGKILLed (every process at once, as a power cut), then started again. Writes (create
and delete a ConfigMap, once a second) go through another control-plane host's local API load balancer;
steady HTTPS load goes to the app through the ingress on another host (tests/load/loadgen.py: every request
recorded).
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import time
from dataclasses import dataclass

from conftest import KUBECTL, Cluster, Host, slow_window, wait_for
from loadgen import Result

WRITES = 30
KILL_AFTER = 3
REJOIN_TIMEOUT = 180
RATE = 20  # app requests per second, through the ingress
LOAD_SECONDS = 300  # upper bound; stopped once the host has rejoined


def etcd_leader(cluster: Cluster) -> Host:
    status = cluster.etcdctl(cluster.control_plane[0], "endpoint status -w json")
    assert status.returncode == 0, status.stderr
    for endpoint in json.loads(status.stdout):
        if endpoint["Status"]["leader"] == endpoint["Status"]["header"]["member_id"]:
            return next(
                h for h in cluster.control_plane if endpoint["Endpoint"] == f"https://{h.address}:2379"
            )
    raise AssertionError(f"no etcd leader in:\n{status.stdout}")


def healthy_members(cluster: Cluster, via: Host) -> int:
    health = cluster.etcdctl(via, "endpoint health -w simple")
    return health.stdout.count("is healthy")


@dataclass
class Outcome:
    victim: Host
    # "<i> ok|fail <seconds since the loop started> <start ms> <end ms> [error]"
    writes: list[list[str]]
    killed_at_second: int
    healthy_with_one_down: int
    member_back: float | None
    node_ready: float | None
    pods_ready: float | None  # every pod on the victim's node Ready again (Traefik, app replica, DNS)
    load: Result
    load_target: Host
    killed_at: float  # seconds into the load
    app_replica_on_victim: bool

    @property
    def failed(self) -> list[list[str]]:
        return [w for w in self.writes if w[1] != "ok"]

    @property
    def write_gap(self) -> tuple[float, float]:
        """(longest, median) seconds between two successful writes' ends: the API's unavailability for writes
        is about their difference."""
        ends = [int(w[4]) / 1000 for w in self.writes if w[1] == "ok"]
        gaps = [b - a for a, b in itertools.pairwise(ends)]
        return (max(gaps), statistics.median(gaps)) if gaps else (0.0, 0.0)


def kill_write_and_restart(cluster: Cluster, victim: Host) -> Outcome:
    """SIGKILL the victim's container while another control-plane host writes and the app is under load, then
    start it again and wait for it to rejoin."""
    writer = next(h for h in cluster.control_plane if h != victim)
    target = cluster.ingress_for([victim])
    pods = cluster.app_pod_nodes(writer)
    print(f"app pods: {pods}; load through {target.name}'s ingress")
    # A bounded loop on the writer: a create and a delete each second; prints
    # "<i> ok|fail <seconds> <start ms> <end ms> [error]" (times since the loop started).
    loop = (
        f"start=$(date +%s%3N); for i in $(seq 1 {WRITES}); do b=$(date +%s%3N); "
        f"if e=$({KUBECTL} create configmap mn-fault-$i --from-literal=i=$i 2>&1 >/dev/null) "
        f"&& e=$({KUBECTL} delete configmap mn-fault-$i 2>&1 >/dev/null); then r=ok; else r=fail; fi; "
        "n=$(date +%s%3N); "
        'echo "$i $r $(( (n - start) / 1000 )) $(( b - start )) $(( n - start )) $(echo $e | cut -c1-200)"; '
        "sleep 1; done"
    )
    # A write whose create landed but whose delete was lost (the host died in between) leaves its ConfigMap.
    names = " ".join(f"mn-fault-{i}" for i in range(1, WRITES + 1))
    cleanup = cluster.kubectl(writer, f"delete configmap --ignore-not-found {names}")
    assert cleanup.returncode == 0, cleanup.stderr
    load = cluster.load(target, RATE, LOAD_SECONDS).start()
    try:
        writes = subprocess.Popen(
            cluster.ssh_argv(writer, loop), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            time.sleep(KILL_AFTER)
            killed_at = load.elapsed()
            print(f"killing {victim.name} at t={killed_at:.1f} s of the load")
            subprocess.run(["docker", "kill", "--signal", "KILL", victim.name], check=True, timeout=30)
            out, err = writes.communicate(timeout=WRITES * 15)
        finally:
            if writes.poll() is None:
                writes.kill()
        results = [line.split() for line in out.splitlines()]
        assert len(results) == WRITES, f"the write loop stopped early: {out!r} {err!r}"
        print(
            f"writes through {writer.name}'s load balancer, {victim.name} killed at about {KILL_AFTER} s:"
            f"\n{out}"
        )
        remaining = [h for h in cluster.control_plane if h != victim]
        quorum = healthy_members(cluster, remaining[0])

        print(f"starting {victim.name} at t={load.elapsed():.0f} s of the load")
        subprocess.run(["docker", "start", victim.name], check=True, timeout=60)
        expected = len(cluster.control_plane)
        member_back = wait_for(lambda: healthy_members(cluster, remaining[0]) == expected, REJOIN_TIMEOUT)
        node_ready = wait_for(lambda: node_is_ready(cluster, writer, victim.name), REJOIN_TIMEOUT)
        pods_ready = wait_for(lambda: pods_ready_on(cluster, writer, victim.name), REJOIN_TIMEOUT, interval=2)
        print(
            f"after docker start: etcd member healthy in {member_back} s, node Ready in {node_ready} s,"
            f" its pods Ready in {pods_ready} s"
        )
    finally:
        load.stop()
        result = load.join()
    outcome = Outcome(
        victim, results, KILL_AFTER, quorum, member_back, node_ready, pods_ready, result, target, killed_at,
        victim.name in pods.values(),
    )  # fmt: skip
    longest, median = outcome.write_gap
    print(
        f"writes: longest gap between successes {longest:.1f} s (median {median:.1f} s);"
        f" app load through {target.name}: {json.dumps(result.summary())}; {slow_window(result)}"
    )
    return outcome


def assert_rejoined(cluster: Cluster, outcome: Outcome) -> None:
    """The app answered every request: the one in flight on the victim's replica at the kill gets no answer,
    and Traefik's patched retry middleware sends it on to the other replica; each one sent
    after the kill fails at connect and is retried, until the lost node is found NotReady."""
    name = outcome.victim.name
    assert outcome.load.failed == 0, (
        f"{outcome.load.failed} app requests through {outcome.load_target.name} failed while {name} was"
        f" down (killed at t={outcome.killed_at:.1f} s, a replica on it: {outcome.app_replica_on_victim}):\n"
        f"{outcome.load.describe_failures()}"
    )
    assert outcome.healthy_with_one_down == len(cluster.control_plane) - 1, (
        f"etcd members healthy while {name} was down: {outcome.healthy_with_one_down}"
    )
    assert outcome.member_back is not None, f"{name}'s etcd member not healthy {REJOIN_TIMEOUT} s after start"
    assert outcome.node_ready is not None, f"{name} not Ready {REJOIN_TIMEOUT} s after start"
    assert outcome.pods_ready is not None, f"the pods on {name} not Ready {REJOIN_TIMEOUT} s after start"


def test_losing_a_follower_host_fails_at_most_the_write_in_flight_and_it_rejoins(app: Cluster) -> None:
    cluster = app
    leader = etcd_leader(cluster)
    outcome = kill_write_and_restart(cluster, next(h for h in cluster.control_plane if h != leader))
    assert_at_most_the_write_in_flight_failed(outcome, reasons=("EOF",))
    assert_rejoined(cluster, outcome)


def test_losing_the_etcd_leader_host_fails_at_most_the_write_in_flight_and_it_rejoins(
    app: Cluster,
) -> None:
    """The write in flight may fail: a proposal the dead leader held is lost, etcd answers it "request timed
    out" (5 s + 2 election timeouts) and the API server passes that on, as it must for a write it cannot know
    the fate of; or the write was on its way to the dead host's API server, and the load balancer's
    connection to it broke (EOF). Every write sent after it lands on the new leader."""
    cluster = app
    outcome = kill_write_and_restart(cluster, etcd_leader(cluster))
    assert_at_most_the_write_in_flight_failed(outcome, reasons=("etcdserver: request timed out", "EOF"))
    assert_rejoined(cluster, outcome)


def assert_at_most_the_write_in_flight_failed(outcome: Outcome, reasons: tuple[str, ...]) -> None:
    """Only the write under way at the kill may fail, for one of ``reasons``; every later one succeeds. (The
    writer's load balancer may have sent it to the dead host's API server: its connection breaks, EOF.)"""
    assert len(outcome.failed) <= 1, f"more than the write in flight failed: {outcome.failed}"
    for write in outcome.failed:
        assert int(write[2]) >= outcome.killed_at_second - 1, f"a write failed before the kill: {write}"
        reason = " ".join(write[5:])
        assert any(r in reason for r in reasons), f"failed for another reason: {write}"
        later = [w for w in outcome.writes if int(w[0]) > int(write[0])]
        assert all(w[1] == "ok" for w in later), f"writes after the one in flight failed: {later}"


def node_is_ready(cluster: Cluster, via: Host, name: str) -> bool:
    got = cluster.kubectl(via, f"get node {name} -o json")
    if got.returncode != 0:
        return False
    conditions = json.loads(got.stdout)["status"]["conditions"]
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def pods_ready_on(cluster: Cluster, via: Host, node: str) -> bool:
    got = cluster.kubectl(via, f"get pods -A --field-selector spec.nodeName={node} -o json")
    if got.returncode != 0:
        return False
    # None there (say, after a drain moved them away) is nothing to wait for.
    return all(
        pod["status"].get("phase") == "Succeeded"
        or any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        for pod in json.loads(got.stdout)["items"]
    )
