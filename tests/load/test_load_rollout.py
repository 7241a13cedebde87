"""Rolling updates under a steady 100 requests/s through the ingress lose no request."""

from __future__ import annotations

import json
import re
import time

import pytest
from load_env import REGISTRY, REGISTRY_CA, LoadEnv, assert_steady_rate, https_get
from load_k8s import wait_for
from load_registry import Registry, registry_password, split_image

RATE = 100
pytestmark = pytest.mark.timeout(900, func_only=True)


def rollout_under_load(env: LoadEnv, changes: dict, name: str):
    """site.yml with ``changes`` while the client sends RATE req/s: (playbook run, load result)."""
    with env.recorder() as recorder, env.load("/fibo?n=10", rate=RATE, duration=600) as gen:
        time.sleep(3)
        started = gen.elapsed()
        run = env.deploy(changes, name)
        ended = gen.elapsed()
        if run.rc == 0:
            wait_for(env.cluster.rollout_complete, 60, what="the rollout to be complete after site.yml")
        time.sleep(3)
        gen.stop()
    result = gen.result
    env.save(
        name,
        result,
        recorder,
        playbook_seconds=round(run.seconds, 1),
        changes=changes,
        events={"site.yml starts": round(started, 1), "site.yml ends": round(ended, 1)},
    )
    return run, result


def test_a_new_version_rolls_out_under_load_without_a_failed_request(steady: LoadEnv):
    old_image = steady.cluster.image()
    old_pods = {p.metadata.name for p in steady.cluster.pods()}
    host, repository, tag = split_image(old_image)
    new_tag = f"load-{int(time.time())}"
    new_version = f"load-v{int(time.time())}"
    # The same image under a new tag: the pods' image really changes, without a rebuild.
    Registry(REGISTRY, REGISTRY_CA, "cloudnative", registry_password()).retag(repository, tag, new_tag)

    run, result = rollout_under_load(
        steady, {"httpserver_version": new_version, "httpserver_image_tag": new_tag}, "rollout-version"
    )

    assert run.rc == 0, f"site.yml failed (log {run.log}):\n{run.tail()}"
    assert result.failed == 0, result.describe_failures()
    assert_steady_rate(result, RATE)
    # Pinned to the digest the registry gave for the new tag (a retag: the old image's digest).
    pinned = re.escape(f"{host}/{repository}:{new_tag}") + "@sha256:[0-9a-f]{64}"
    assert re.fullmatch(pinned, steady.cluster.image()), steady.cluster.image()
    assert not old_pods & {p.metadata.name for p in steady.cluster.pods()}, "old pods still run"
    # Answers switched from the old version to the new one during the run, and only the new one is left.
    versions = result.versions_in_order()
    assert versions[-1] == new_version and len(versions) >= 2, versions
    status, headers, body = https_get("/")
    assert status == 200 and json.loads(body)["version"] == new_version, body
    assert headers.get("x-app-version") == new_version
    steady.extra_vars.update(httpserver_version=new_version, httpserver_image_tag=new_tag)


def test_a_config_change_rolls_out_under_load_without_a_failed_request(steady: LoadEnv):
    old_configmap = steady.cluster.configmap_name()
    # The test inventory allows n up to 1000000; one less is a real change, and the slow request of the
    # graceful-stop test (n = max_n, several seconds) still works after it.
    new_max_n = 999_999

    run, result = rollout_under_load(steady, {"config_max_n": new_max_n}, "rollout-config")

    assert run.rc == 0, f"site.yml failed (log {run.log}):\n{run.tail()}"
    assert result.failed == 0, result.describe_failures()
    assert_steady_rate(result, RATE)
    assert steady.cluster.configmap_name() != old_configmap, "the pods still mount the old ConfigMap"
    # Every pod now enforces the new limit: ask several times so each pod is likely to answer once.
    for _ in range(6):
        status, _, body = https_get(f"/fibo?n={new_max_n + 1}")
        assert 400 <= status < 500 and f"max_n={new_max_n}".encode() in body, (status, body[:200])
    steady.extra_vars["config_max_n"] = new_max_n
