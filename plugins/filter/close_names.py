"""The close_names filter: which names look like a typo of a known name (a small edit away from one)."""

from __future__ import annotations

from collections import Counter

DOCUMENTATION = r"""
name: close_names
short_description: Map each name that is a small edit away from a known name to that known name
version_added: 0.2.0
description:
  - For each name not in O(known), find the known name at the smallest edit distance (insertions, deletions,
    substitutions and swaps of two neighbouring characters each count 1).
  - A name is kept when that distance is 1, or 2 for names of 10 characters or more; other names (another
    collection's C(tls_ciphers), a host's C(ansible_user)) are left alone.
  - Used by the inventory check to fail on C(deploy_hpa_max_replcas) while accepting foreign variables.
options:
  _input:
    description: Names to check, for example the keys of a host's variables.
    type: list
    elements: str
    required: true
  known:
    description: The names the collection reads.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Fail on likely typos of the roles' variables
  ansible.builtin.assert:
    that: _typos | length == 0
    fail_msg: "{{ _typos }}"
  vars:
    _typos: "{{ hostvars[inventory_hostname] | list | cloudnative.httpserver.close_names(_known) }}"
    _known: [deploy_namespace, deploy_hpa_max_replicas]
"""

RETURN = r"""
_value:
  description: Each name that looks like a typo, mapped to the known name it resembles.
  type: dict
"""


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insert, delete, substitute, or swap two neighbours, each 1."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]


def close_names(names: list[str], known: list[str]) -> dict[str, str]:
    letters = {k: Counter(k) for k in set(known)}
    typos: dict[str, str] = {}
    for name in names:
        if name in letters or name.startswith("_"):
            continue
        limit = 2 if len(name) >= 10 else 1
        name_letters = Counter(name)
        # Cheap rejections first: one edit changes the length by at most 1 and the letter counts by at most 2.
        candidates = [
            k
            for k, k_letters in letters.items()
            if abs(len(k) - len(name)) <= limit
            and sum(((k_letters - name_letters) + (name_letters - k_letters)).values()) <= 2 * limit
        ]
        distance, nearest = min(((edit_distance(name, k), k) for k in candidates), default=(limit + 1, ""))
        if distance <= limit:
            typos[name] = nearest
    return typos


class FilterModule:
    def filters(self) -> dict:
        return {"close_names": close_names}
