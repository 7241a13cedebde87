"""The deploy_fingerprints filter: the two fingerprints of a deploy, in one pass."""

from __future__ import annotations

import hashlib
import json

DOCUMENTATION = r"""
name: deploy_fingerprints
short_description: Hash what a deploy applies into the fingerprints the deploy role records on the Deployment
version_added: 0.2.0
description:
  - C(objects) hashes the input, everything the deploy applies besides the Deployment (the caller's inputs,
    the hashes of its files, the rendered manifests).
  - C(deploy) hashes C(objects) with the Deployment's rendered manifest, the whole deploy.
  - Both are SHA-256 of JSON with sorted keys, so a dictionary hashes the same whatever its order.
  - One filter for both, so the manifests are rendered once (a task variable is rendered again each time it is
    read).
options:
  _input:
    description: What the deploy applies besides the Deployment.
    type: raw
    required: true
  deployment:
    description: The Deployment's rendered manifest.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Compute the fingerprints of this deploy
  ansible.builtin.set_fact:
    deploy_fingerprints: >-
      {{ {'inputs': deploy_settled_inputs, 'manifests': lookup('ansible.builtin.template', 'service.yaml.j2')}
         | cloudnative.httpserver.deploy_fingerprints(
             lookup('ansible.builtin.template', 'deployment.yaml.j2')) }}
"""

RETURN = r"""
_value:
  description: objects and deploy, each a hex SHA-256.
  type: dict
"""


def _sha256_of_json(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def deploy_fingerprints(objects: object, deployment: str) -> dict[str, str]:
    objects_fingerprint = _sha256_of_json(objects)
    return {
        "objects": objects_fingerprint,
        "deploy": _sha256_of_json({"objects": objects_fingerprint, "deployment": deployment}),
    }


class FilterModule:
    def filters(self) -> dict:
        return {"deploy_fingerprints": deploy_fingerprints}
