"""Offline validation of Kubernetes objects against the OpenAPI v3 schemas of one Kubernetes release.

Strict like `kubeconform -strict`: an object schema that lists its properties accepts no other property, so a
misspelt field (`readinesProbe`) is an error rather than silently dropped by the API server.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT_URI = "urn:kubernetes-openapi"


def _close_objects(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


class SchemaSet:
    """Validators for every kind the schemas declare, keyed by (apiVersion, kind)."""

    def __init__(self, schemas: dict[str, Any]) -> None:
        closed = copy.deepcopy(schemas)
        _close_objects(closed)
        self._registry = Registry().with_resource(
            ROOT_URI,
            Resource.from_contents({"components": {"schemas": closed}}, default_specification=DRAFT7),
        )
        self._names: dict[tuple[str, str], str] = {}
        for name, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                group, version = gvk.get("group", ""), gvk["version"]
                api_version = f"{group}/{version}" if group else version
                self._names[(api_version, gvk["kind"])] = name

    def errors(self, obj: dict[str, Any]) -> list[str]:
        """Schema errors of one object, as `path: message` lines (empty when valid)."""
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        if key not in self._names:
            return [f"no schema for apiVersion {key[0]!r} kind {key[1]!r}"]
        validator = jsonschema.Draft7Validator(
            {"$ref": f"{ROOT_URI}#/components/schemas/{self._names[key]}"}, registry=self._registry
        )
        return [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        ]
