"""Check that bench/chart renders the same objects as `playbooks/render.yml` for prod, so timing one
against the other compares like with like. Ignored: the namespace field (Helm sets it at install), the
managed-by label, and the ConfigMap's hash suffix (both are content hashes, of differently spelled YAML).
The Namespace object is not in the chart: the benchmark applies it (with its Pod Security labels) first.

    .venv/bin/python bench/deploy/chart_equivalence.py   # exit 1 and a diff when they differ
"""

from __future__ import annotations

import copy
import difflib
import pathlib
import subprocess
import sys
import tempfile

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
HELM = pathlib.Path.home() / ".cache/cloudnative-httpserver/bin/helm-v3.22.0/helm"
CONFIG_PREFIX = "httpserver-config-"


def _normalize(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"].pop("namespace", None)

    def walk(node):
        if isinstance(node, dict):
            node.pop("app.kubernetes.io/managed-by", None)
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            return
        for key, value in list(items):
            if isinstance(value, str) and value.startswith(CONFIG_PREFIX):
                node[key] = CONFIG_PREFIX + "<hash>"
            walk(value)

    walk(obj)
    if obj["kind"] == "ConfigMap":
        obj["data"]["config.yaml"] = yaml.safe_load(obj["data"]["config.yaml"])
    return obj


def rendered(render_dir: pathlib.Path) -> dict[str, dict]:
    subprocess.run(
        [
            str(pathlib.Path(sys.executable).with_name("ansible-playbook")),
            "playbooks/render.yml",
            "-i",
            "inventories/prod",
            "-e",
            f"render_dir={render_dir}",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    docs = [d for p in sorted(render_dir.glob("*.y*ml")) for d in yaml.safe_load_all(p.read_text()) if d]
    return {d["kind"]: d for d in docs}


def chart_values(objects: dict[str, dict]) -> dict:
    """The values that make the chart render what render.yml wrote (image and app config)."""
    config = yaml.safe_load(objects["ConfigMap"]["data"]["config.yaml"])
    config.pop("env")
    image = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    return {"image": image, "config": config}


def templated(values: dict, workdir: pathlib.Path) -> dict[str, dict]:
    values_file = workdir / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    out = subprocess.run(
        [
            str(HELM),
            "template",
            "httpserver",
            str(REPO / "bench/chart"),
            "-n",
            "cloudnative-prod",
            "-f",
            str(values_file),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return {d["kind"]: d for d in yaml.safe_load_all(out) if d}


def differences() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = pathlib.Path(tmp)
        ours = rendered(workdir / "render")
        theirs = templated(chart_values(ours), workdir)
    problems = []
    missing = set(ours) - set(theirs) - {"Namespace"}
    extra = set(theirs) - set(ours)
    if missing or extra:
        problems.append(f"kinds only in render.yml: {sorted(missing)}; only in the chart: {sorted(extra)}")
    for kind in sorted(set(ours) & set(theirs)):
        a = yaml.safe_dump(_normalize(ours[kind])).splitlines()
        b = yaml.safe_dump(_normalize(theirs[kind])).splitlines()
        if a != b:
            diff = "\n".join(difflib.unified_diff(a, b, "render.yml", "bench/chart", lineterm=""))
            problems.append(f"{kind} differs:\n{diff}")
    return problems


def main() -> int:
    problems = differences()
    for problem in problems:
        print(problem)
    if not problems:
        print("bench/chart renders the same objects as playbooks/render.yml for prod")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
