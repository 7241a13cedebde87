"""A bad deploy makes site.yml fail with a message naming the cause, while the running version keeps
serving a steady 100 requests/s without a failed request. A config value the app refuses at start, rolled
back while requests go on, is tested in tests/e2e/test_deploy.py (test_failed_rollout_is_rolled_back_...)."""

from __future__ import annotations

import pathlib
import shutil
import time

import pytest
from load_env import REGISTRY, REGISTRY_CA, TEST_INVENTORY, LoadEnv, assert_steady_rate, https_get
from load_k8s import wait_for
from load_registry import Registry, registry_password, split_image

RATE = 100
pytestmark = pytest.mark.timeout(600, func_only=True)


def bad_deploy_under_load(env: LoadEnv, changes: dict, name: str, inventory: pathlib.Path = TEST_INVENTORY):
    before = (env.cluster.image(), env.cluster.configmap_name())
    with env.recorder() as recorder, env.load("/fibo?n=10", rate=RATE, duration=500) as gen:
        time.sleep(2)
        run = env.deploy(changes, name, inventory=inventory)
        time.sleep(2)
        gen.stop()
    result = gen.result
    env.save(name, result, recorder, playbook_seconds=round(run.seconds, 1), changes=changes, rc=run.rc)
    assert run.rc != 0, f"site.yml succeeded with a bad deploy (log {run.log}):\n{run.tail()}"
    assert result.failed == 0, result.describe_failures()
    assert_steady_rate(result, RATE)
    wait_for(env.cluster.rollout_complete, 120, what="the previous version to be fully rolled out again")
    assert (env.cluster.image(), env.cluster.configmap_name()) == before, (
        "the previous version is not what runs"
    )
    status, headers, _ = https_get("/")
    assert status == 200 and headers.get("x-app-version") == env.extra_vars["httpserver_version"]
    return run


def test_a_config_value_the_role_rejects_fails_before_any_change(steady: LoadEnv):
    run = bad_deploy_under_load(steady, {"config_log_level": "VERBOSE"}, "bad-config-log-level")
    assert "config_log_level" in run.output and "VERBOSE" in run.output, run.tail()


def test_an_image_that_never_becomes_ready_is_rolled_back(steady: LoadEnv):
    _, repository, tag = split_image(steady.cluster.image())
    never_ready = f"never-ready-{int(time.time())}"
    # The app's image with an entrypoint that runs but never listens: the pod starts and is never ready.
    Registry(REGISTRY, REGISTRY_CA, "cloudnative", registry_password()).with_entrypoint(
        repository, tag, never_ready, ["/opt/venv/bin/python", "-c", "import time; time.sleep(86400)"]
    )
    run = bad_deploy_under_load(steady, {"httpserver_image_tag": never_ready}, "bad-image-never-ready")
    assert never_ready in run.output, run.tail()
    assert "not ready" in run.output and ("probe" in run.output.lower() or "Unhealthy" in run.output), (
        run.tail()
    )
    assert "Rolled back" in run.output, run.tail()


def test_a_mistyped_inventory_variable_fails_naming_it(steady: LoadEnv, tmp_path: pathlib.Path):
    inventory = tmp_path / "inventory"
    shutil.copytree(TEST_INVENTORY, inventory, symlinks=False)
    (inventory / "group_vars/prod/90-typo.yml").write_text("---\ndeploy_hpa_max_replcas: 3\n")
    run = bad_deploy_under_load(steady, {}, "bad-inventory-typo", inventory=inventory)
    assert "unknown variable deploy_hpa_max_replcas" in run.output, run.tail()
    assert "did you mean deploy_hpa_max_replicas?" in run.output, run.tail()
