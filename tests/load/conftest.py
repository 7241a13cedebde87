"""Fixtures of the load tests.

The suite owns the cloudnative-prod namespace while it runs: it deploys tests/load/inventory (prod plus
a few test settings) first and restores inventories/prod at the end. Without a cluster or a deployable
app the cluster tests fail with the reason; only test_load_client.py runs without one.
"""

from __future__ import annotations

import pytest
from load_env import (
    BASELINE_VERSION,
    ENV,
    PROD_INVENTORY,
    TEST_INVENTORY,
    LoadEnv,
    https_get,
    preflight,
    run_site,
)
from load_k8s import wait_for

# Cheap and read-only first, then what changes the deployment; autoscaling last (it leaves extra pods).
ORDER = [
    "test_load_client.py",
    "test_load_security.py",
    "test_load_rollout.py",
    "test_load_pod_loss.py",
    "test_load_graceful_stop.py",
    "test_load_bad_deploys.py",
    "test_load_autoscaling.py",
]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return ORDER.index(name) if name in ORDER else len(ORDER)

    items.sort(key=rank)  # stable: keeps the order inside each file


@pytest.fixture(scope="session")
def load_env() -> LoadEnv:
    cluster = preflight()
    run = run_site(
        TEST_INVENTORY, {"httpserver_version": BASELINE_VERSION}, "00-baseline-deploy", timeout=1800
    )
    if run.rc != 0:
        pytest.fail(
            f"load tests cannot run: site.yml -i {TEST_INVENTORY} failed (rc={run.rc}, log {run.log}):\n"
            + run.tail(),
            pytrace=False,
        )
    wait_for(cluster.rollout_complete, 120, what="the baseline rollout to complete")
    env = LoadEnv(cluster, cluster.image())
    env.extra_vars = {"httpserver_version": BASELINE_VERSION, "httpserver_image_tag": env.image_tag}
    yield env
    restore = run_site(PROD_INVENTORY, None, "99-restore-prod", timeout=1800)
    assert restore.rc == 0, f"restoring inventories/prod failed (log {restore.log}):\n{restore.tail()}"


@pytest.fixture
def steady(load_env: LoadEnv) -> LoadEnv:
    """The deployment as the settings in force say, fully rolled out, with at least two ready pods."""
    wait_for(load_env.cluster.rollout_complete, 180, what="the Deployment to be fully rolled out")
    wait_for(lambda: len(load_env.cluster.ready_pods()) >= 2, 180, what="two ready pods")
    status, _headers, _ = https_get("/healthz")
    assert status == 200, f"/{ENV}/healthz through the ingress answered {status} before the test"
    return load_env
