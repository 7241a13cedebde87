"""The fast path's verdict and fingerprints: what the deploy role's state script says, read as a decision."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_FILTERS = Path(__file__).parents[2] / "plugins/filter"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, _FILTERS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


deploy_settled = _load("deploy_settled").deploy_settled
deploy_fingerprints = _load("deploy_fingerprints").deploy_fingerprints

FP, OBJECTS_FP = "a" * 64, "b" * 64


def state(
    *,
    hashes: str = "h1 h2",
    ingress: str = "200",
    kubectl_rc: str = "0",
    deployment: str = f"Deployment 14 14 2 2 2 2 2  {FP} {OBJECTS_FP}",
    hpa: str = "HorizontalPodAutoscaler        True  ",
) -> list[str]:
    """The script's lines as kubectl's JSONPath prints them (an HPA's Deployment fields are empty)."""
    return [hashes, ingress, kubectl_rc] + [line for line in (deployment, hpa) if line]


def verdict(lines: list[str], **kwargs) -> dict:
    return deploy_settled(lines, FP, OBJECTS_FP, 2, **kwargs)


def test_a_settled_environment_is_skipped():
    assert verdict(state()) == {
        "settled": True,
        "reason": "settled",
        "objects_settled": True,
        "recorded": FP,
        "recorded_objects": OBJECTS_FP,
    }


@pytest.mark.parametrize(
    ("lines", "reason", "objects_settled"),
    [
        (
            state(deployment=f"Deployment 14 14 2 2 2 2 2  {'c' * 64} {OBJECTS_FP}"),
            "another fingerprint",
            True,
        ),
        (state(deployment=f"Deployment 15 14 2 2 2 2 2  {FP} {OBJECTS_FP}"), "rollout has not settled", True),
        (state(deployment=f"Deployment 14 14 2 3 2 2 2  {FP} {OBJECTS_FP}"), "rollout has not settled", True),
        (state(deployment=f"Deployment 14 14 2 2 2 1 2  {FP} {OBJECTS_FP}"), "rollout has not settled", True),
        (state(hpa="HorizontalPodAutoscaler        False  "), "ScalingActive is not True", True),
        (state(hpa=""), "ScalingActive is not True", True),
        (state(ingress="502"), "the ingress answered 502, not 200", False),
        (state(hashes="h1"), "a file of deploy_settled_files is missing", False),
        (
            state(kubectl_rc="1", deployment='Error from server (NotFound): "httpserver" not found', hpa=""),
            'could not read the Deployment and HPA: Error from server (NotFound): "httpserver" not found',
            False,
        ),
        (state(deployment=f"Deployment 14 14 2 2 2 2 2  {FP} {'c' * 64}"), "settled", False),
        (["", "000"], "kubectl could not read", False),
    ],
)
def test_anything_amiss_runs_the_full_deploy_saying_why(lines: list[str], reason: str, objects_settled: bool):
    result = verdict(lines)
    assert result["objects_settled"] is objects_settled, result
    if reason == "settled":  # only the objects' fingerprint differs: the Deployment itself is as recorded
        assert result["settled"] is True, result
        return
    assert result["settled"] is False, result
    assert reason in result["reason"], result


def test_blockers_and_force_keep_the_full_deploy():
    result = verdict(state(), blockers=["the prod certificate is missing or due"], force=True)
    assert not result["settled"] and not result["objects_settled"]
    assert result["reason"] == "the prod certificate is missing or due; forced (deploy_settled_force)"


def test_no_recorded_fingerprint_reads_as_empty():
    result = verdict(state(deployment="Deployment 1 1 2 2 2 2 2  "))
    assert result["recorded"] == "" and result["recorded_objects"] == ""
    assert "another fingerprint" in result["reason"]


def test_fingerprints_change_with_what_they_cover_and_not_with_key_order():
    base = deploy_fingerprints({"inputs": {"a": 1, "b": 2}, "manifests": "kind: Service"}, "kind: Deployment")
    same = deploy_fingerprints({"manifests": "kind: Service", "inputs": {"b": 2, "a": 1}}, "kind: Deployment")
    assert base == same
    other_deployment = deploy_fingerprints({"inputs": {"a": 1, "b": 2}, "manifests": "kind: Service"}, "x")
    assert other_deployment["objects"] == base["objects"] and other_deployment["deploy"] != base["deploy"]
    other_objects = deploy_fingerprints(
        {"inputs": {"a": 1}, "manifests": "kind: Service"}, "kind: Deployment"
    )
    assert other_objects["objects"] != base["objects"] and other_objects["deploy"] != base["deploy"]
