"""Every rendered object is valid against the Kubernetes v1.35 OpenAPI schemas, in strict mode."""

from __future__ import annotations

import copy

import pytest
from k8s_schema import SchemaSet
from rendering import ENVS


@pytest.fixture(scope="session")
def schema_set(openapi_schemas) -> SchemaSet:
    return SchemaSet(openapi_schemas)


@pytest.mark.parametrize("env", ENVS)
def test_every_rendered_object_is_valid_for_kubernetes_1_35(rendered, schema_set, env):
    problems = {name: schema_set.errors(obj) for name, obj in rendered[env].objects.items()}
    problems = {name: errs for name, errs in problems.items() if errs}
    assert not problems, f"{env}: schema errors: {problems}"


def test_schema_check_rejects_a_misspelt_field(rendered, schema_set):
    deployment = copy.deepcopy(rendered["prod"].kind("Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    errors = schema_set.errors(deployment)
    assert any("readinesProbe" in e for e in errors), errors


def test_schema_check_rejects_a_wrong_type_and_a_missing_required_field(rendered, schema_set):
    deployment = copy.deepcopy(rendered["prod"].kind("Deployment"))
    deployment["spec"]["replicas"] = "two"
    del deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    errors = schema_set.errors(deployment)
    assert any(e.startswith("spec.replicas:") for e in errors), errors
    assert any("'name' is a required property" in e for e in errors), errors


def test_schema_check_knows_every_rendered_kind(rendered, schema_set):
    kinds = {(o["apiVersion"], o["kind"]) for r in rendered.values() for o in r.objects.values()}
    assert {
        ("v1", "Namespace"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("networking.k8s.io/v1", "Ingress"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("policy/v1", "PodDisruptionBudget"),
    } == kinds
