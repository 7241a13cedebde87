# Copyright: cloudnative.httpserver maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory check of site.yml and render.yml, in the controller's process (one task, no Jinja)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.cloudnative.httpserver.plugins.filter.close_names import close_names

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SHARED_HINT = (
    "Set httpserver_env (a DNS label such as dev, staging or prod, also the name of an inventory group the"
    " host is in, under the httpserver group), httpserver_namespace (a DNS label), httpserver_drain_seconds"
    " and httpserver_shutdown_timeout_seconds in the environment's group_vars."
)
TYPO_HINT = (
    "(The names the roles read are in roles/*/meta/argument_specs.yml and playbooks/vars/httpserver.yml.)"
)


def read_specs(roles_dir: Path, roles: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each role's entry points, as its meta/argument_specs.yml declares them."""
    specs = {}
    for role in roles:
        path = roles_dir / role / "meta/argument_specs.yml"
        try:
            specs[role] = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))[
                "argument_specs"
            ]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            raise AnsibleActionFail(
                f"cannot read the argument specs of role {role} at {path}: {error}"
            ) from error
    return specs


def known_names(specs: Mapping[str, Mapping[str, Any]], extra: Iterable[str]) -> set[str]:
    """Every option of every entry point of the roles, and the extra names (the playbooks' own)."""
    names = set(extra)
    for entry_points in specs.values():
        for entry_point in entry_points.values():
            names.update(entry_point.get("options") or {})
    return names


def main_options(specs: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The roles' main options among names, none required: only what the inventory sets is checked."""
    options = {}
    for entry_points in specs.values():
        for name, option in (entry_points.get("main", {}).get("options") or {}).items():
            if name in names:
                options[name] = {**option, "required": False}
    return options


def _number_at_least_zero(value: Any) -> bool:
    try:
        return float(value) >= 0
    except (TypeError, ValueError):
        return False


def shared_settings_ok(settings: Mapping[str, Any], group_names: Iterable[str]) -> bool:
    """The shared settings: a DNS label naming one of the host's groups, a namespace, two numbers."""
    env, namespace = settings.get("httpserver_env"), settings.get("httpserver_namespace")
    return (
        isinstance(env, str)
        and bool(DNS_LABEL.match(env))
        and env in group_names
        and isinstance(namespace, str)
        and bool(DNS_LABEL.match(namespace))
        and _number_at_least_zero(settings.get("httpserver_drain_seconds"))
        and _number_at_least_zero(settings.get("httpserver_shutdown_timeout_seconds"))
    )


def problems(
    set_names: list[str],
    removed: Mapping[str, str],
    known: set[str],
    shared_ok: bool,
    type_errors: list[str],
) -> list[str]:
    """What is wrong with the inventory, one paragraph each; empty when nothing is."""
    found = []
    removed_set = [name for name in set_names if name in removed]
    if removed_set:
        found.append(
            "Variables this collection no longer reads, in the inventory or extra vars: "
            + " ".join(f"{name}: {removed[name]}" for name in removed_set)
        )
    typos = close_names(set_names, sorted(known))
    if typos:
        found.append(
            "Likely typos in the inventory or extra vars: "
            + " ".join(
                f"unknown variable {name} in the inventory or extra vars: did you mean {like}?"
                for name, like in typos.items()
            )
            + " "
            + TYPO_HINT
        )
    if not shared_ok:
        found.append(SHARED_HINT)
    if type_errors:
        found.append("Wrong types or values in the inventory or extra vars: " + "; ".join(type_errors))
    return found


# The action's own options, as plugins/modules/check_inventory.py documents them.
ARGUMENT_SPEC = {
    "roles_dir": {"type": "path", "required": True},
    "roles": {"type": "list", "elements": "str", "required": True},
    "known": {"type": "list", "elements": "str", "default": []},
    "removed": {"type": "dict", "default": {}},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        specs = read_specs(Path(args["roles_dir"]), args["roles"])
        known = known_names(specs, args["known"])

        # What the inventory (or -e) sets for this host; only the names a role reads are templated.
        host_vars = task_vars["hostvars"][task_vars["inventory_hostname"]]
        set_names = list(host_vars)
        options = main_options(specs, set_names)
        values = {name: host_vars[name] for name in options}
        type_errors = ArgumentSpecValidator(options).validate(values, validate_role_argument_spec=True)
        shared = {
            name: self._templar.template(task_vars[name])
            for name in (
                "httpserver_env",
                "httpserver_namespace",
                "httpserver_drain_seconds",
                "httpserver_shutdown_timeout_seconds",
            )
            if name in task_vars
        }
        found = problems(
            set_names,
            args["removed"],
            known,
            shared_settings_ok(shared, task_vars.get("group_names", [])),
            type_errors.error_messages,
        )
        if found:
            return {**result, "failed": True, "msg": " ".join(found)}
        return {**result, "changed": False, "msg": f"{len(options)} of the roles' variables set, all valid"}
