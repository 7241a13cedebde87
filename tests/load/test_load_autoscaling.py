"""CPU load scales the Deployment up through the HPA, and it scales back down when the load stops
(the test inventory's 15 s scale-down stabilization window)."""

from __future__ import annotations

import time

import pytest
from load_env import LoadEnv
from load_k8s import wait_for

pytestmark = pytest.mark.timeout(720, func_only=True)

# Cache off (test inventory): each /fibo?n=100000 costs about 9 ms of CPU (measured: 10/s held two pods
# at 47% of their 100m request), so 40/s is about 190% of the request per pod, well above the 70% target.
RATE = 40
PATH = "/fibo?n=100000"


def test_cpu_load_scales_up_and_back_down(steady: LoadEnv):
    hpa = steady.cluster.hpa()
    minimum, maximum = hpa.spec.min_replicas, hpa.spec.max_replicas
    assert maximum > minimum, f"the HPA cannot scale: min {minimum}, max {maximum}"
    wait_for(
        lambda: steady.cluster.deployment().spec.replicas == minimum, 240, what=f"{minimum} replicas at rest"
    )

    with steady.recorder() as recorder:
        gen = steady.load(PATH, rate=RATE, duration=300, timeout=60, workers=64).start()
        try:
            wait_for(
                lambda: (steady.cluster.deployment().status.ready_replicas or 0) > minimum,
                240,
                interval=2,
                what="the HPA to scale up under load (ready replicas above the minimum)",
            )
            time.sleep(20)  # let it settle at its peak so the plot shows it
        finally:
            stopped = time.time()
            gen.stop()
            result = gen.join()
        wait_for(
            lambda: (
                steady.cluster.deployment().spec.replicas == minimum
                and (steady.cluster.deployment().status.replicas or 0) == minimum
            ),
            360,
            interval=2,
            what=f"the HPA to scale back down to {minimum} after the load stopped",
        )
        time.sleep(3)
    path = steady.save(
        "autoscaling", result, recorder, events={"load stops": round(stopped - result.started_at, 1)}
    )

    peak = max(s.get("desired", 0) for s in recorder.samples)
    assert peak > minimum, f"never scaled above {minimum} (samples in {path})"
    assert recorder.max_ready() > minimum
    scaled_down_at = next(
        s["time"] for s in recorder.samples if s["time"] > stopped and s.get("desired") == minimum
    )
    assert scaled_down_at >= stopped
    # Scaling itself must not cost requests (new pods join when ready; removed ones drain).
    assert result.failed == 0, result.describe_failures()
