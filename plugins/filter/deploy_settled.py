"""The deploy_settled filter: whether a deploy may be skipped, from the deploy role's state script."""

from __future__ import annotations

from enum import IntEnum

DOCUMENTATION = r"""
name: deploy_settled
short_description: Decide from one kubectl read and one HTTPS status whether a deploy can be skipped
version_added: 0.2.0
description:
  - Reads the lines the deploy role's state script prints (roles/deploy/tasks/settled.yml) and compares them
    with this deploy's fingerprints.
  - The deploy is settled when nothing stands against skipping it (no blocker, not forced, kubectl read the
    objects, every file was hashed, the ingress answered 200), the Deployment records O(fingerprint), its
    rollout has settled and the HPA's ScalingActive condition is True.
  - The objects around the Deployment are settled when nothing stands against skipping, a Deployment was read
    and it records O(objects_fingerprint).
options:
  _input:
    description:
      - The script's lines. The hashes of the deploy's files, space-separated; the ingress's HTTP status;
        kubectl's exit code; then what kubectl said.
      - When kubectl succeeded, a line per object, fields separated by one space; kind, generation,
        observedGeneration, spec.replicas, replicas, updatedReplicas, readyReplicas, availableReplicas, the
        ScalingActive status (an HPA's), the fingerprint and the objects' fingerprint annotations.
    type: list
    elements: str
    required: true
  fingerprint:
    description: This deploy's fingerprint.
    type: str
    required: true
  objects_fingerprint:
    description: The fingerprint of the objects around the Deployment.
    type: str
    required: true
  file_count:
    description: How many files the script hashed; fewer hashes means a file is missing.
    type: int
    required: true
  blockers:
    description: Reasons given by the caller not to skip anything.
    type: list
    elements: str
    default: []
  force:
    description: Never skip.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Decide whether the deploy can be skipped
  ansible.builtin.set_fact:
    deploy_settled: "{{ _state.settled }}"
  vars:
    _state: >-
      {{ _deploy_state.stdout_lines | cloudnative.httpserver.deploy_settled(deploy_fingerprints.deploy,
         deploy_fingerprints.objects, deploy_settled_files | length) }}
"""

RETURN = r"""
_value:
  description: >-
    settled and objects_settled (booleans); reason (why not, joined with "; ", or "settled"); recorded and
    recorded_objects (the fingerprints the Deployment carries, empty when none).
  type: dict
"""


class Field(IntEnum):
    """The position of each field in an object's line."""

    KIND = 0
    GENERATION = 1
    OBSERVED = 2
    WANTED = 3
    REPLICAS = 4
    UPDATED = 5
    READY = 6
    AVAILABLE = 7
    SCALING_ACTIVE = 8
    RECORDED = 9
    RECORDED_OBJECTS = 10


NO_DEPLOYMENT = ["", "1", "0", "-1", "0", "0", "0", "0", "", "", ""]


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def rollout_settled(row: list[str]) -> bool:
    """The controller saw the latest generation and every replica count equals the wanted one."""
    counts = {row[i] or "0" for i in (Field.REPLICAS, Field.UPDATED, Field.READY, Field.AVAILABLE)}
    observed_latest = _int(row[Field.OBSERVED], 0) >= _int(row[Field.GENERATION], 1)
    return observed_latest and counts == {row[Field.WANTED]}


def deploy_settled(
    lines: list[str],
    fingerprint: str,
    objects_fingerprint: str,
    file_count: int,
    blockers: list[str] | None = None,
    force: bool = False,
) -> dict:
    file_hashes = lines[0].split() if lines else []
    ingress_status = lines[1].strip() if len(lines) > 1 else "000"
    kubectl_rc = _int(lines[2].strip(), 1) if len(lines) > 2 else 1
    rows = [line.split(" ") for line in lines[3:]] if kubectl_rc == 0 else []
    deployment = next((row for row in rows if row[Field.KIND] == "Deployment"), NO_DEPLOYMENT)
    deployment = deployment + [""] * (len(NO_DEPLOYMENT) - len(deployment))
    hpas = [row for row in rows if row[Field.KIND] == "HorizontalPodAutoscaler"]
    hpa_active = [row[Field.SCALING_ACTIVE] for row in hpas] == ["True"]
    recorded = deployment[Field.RECORDED].strip()
    recorded_objects = deployment[Field.RECORDED_OBJECTS].strip()
    live = bool(rows)

    # What stands against skipping anything, whether the Deployment changed or not.
    general = list(blockers or []) + (["forced (deploy_settled_force)"] if force else [])
    if kubectl_rc != 0:
        general.append("kubectl could not read the Deployment and HPA: " + " ".join(lines[3:])[:300])
    if len(file_hashes) != file_count:
        general.append("a file of deploy_settled_files is missing")
    ingress = [f"the ingress answered {ingress_status}, not 200"] if ingress_status != "200" else []

    reasons = general.copy()
    if live and recorded != fingerprint:
        reasons.append("the Deployment records another fingerprint: something changed")
    if live and not rollout_settled(deployment):
        reasons.append("the rollout has not settled")
    if live and not hpa_active:
        reasons.append("the HPA does not scale on metrics yet (ScalingActive is not True)")
    reasons += ingress

    # Whether everything but the Deployment and its ConfigMap is as the last complete deploy applied it.
    object_reasons = general + (["no Deployment read"] if not live else [])
    if recorded_objects != objects_fingerprint:
        object_reasons.append("the objects record another fingerprint")
    object_reasons += ingress

    return {
        "settled": not reasons,
        "reason": "; ".join(reasons) if reasons else "settled",
        "objects_settled": not object_reasons,
        "recorded": recorded,
        "recorded_objects": recorded_objects,
    }


class FilterModule:
    def filters(self) -> dict:
        return {"deploy_settled": deploy_settled}
