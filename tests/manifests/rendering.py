"""Helpers of the manifest tests: run render.yml, fetch the Kubernetes OpenAPI schemas, flatten objects.
(Kept out of conftest.py so the test modules import them by a name no other test directory uses.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"
KUBERNETES_VERSION = "v1.35.4"
OPENAPI_CACHE = Path.home() / ".cache" / "cloudnative-httpserver" / "openapi" / KUBERNETES_VERSION
ENVS = ("dev", "staging", "prod")
FAKE_REGISTRY_PASSWORD = "manifest-test-password"


@dataclass(frozen=True)
class Rendered:
    """One environment's rendered manifests: file name -> parsed object."""

    env: str
    directory: Path
    objects: dict[str, dict[str, Any]]
    git_heads: tuple[str, str]  # the inputs' last commit before and after the render (others may commit)

    def kind(self, kind: str, name: str | None = None) -> dict[str, Any]:
        found = [
            o for o in self.objects.values() if o["kind"] == kind and name in (None, o["metadata"]["name"])
        ]
        assert len(found) == 1, f"{self.env}: expected one {kind} {name or ''}, found {len(found)}"
        return found[0]


def run_playbook(
    playbook: str, inventory: str, *extra: str, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a playbook of this repository and return the finished process."""
    assert ANSIBLE_PLAYBOOK.exists(), f"{ANSIBLE_PLAYBOOK} is missing: run scripts/bootstrap-python.sh"
    cmd = [str(ANSIBLE_PLAYBOOK), f"playbooks/{playbook}", "-i", f"inventories/{inventory}", *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return proc


# What the image role tags with: the last commit that changed a build input (roles/image/defaults/main.yml).
IMAGE_INPUTS = yaml.safe_load((ROOT / "roles/image/defaults/main.yml").read_text())["image_inputs"]


def git_head() -> str:
    return subprocess.run(
        ["git", "log", "-1", "--format=%h", "--abbrev=7", "--", *IMAGE_INPUTS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def render(env: str, out: Path, tls_dir: Path, *extra: str) -> Rendered:
    head = git_head()
    run_playbook(
        "render.yml",
        env,
        "-e",
        f"render_dir={out}",
        "-e",
        "render_secrets=true",
        "-e",
        f"tls_dir={tls_dir}",
        "-e",
        f"cloudnative_registry_password={FAKE_REGISTRY_PASSWORD}",
        *extra,
    )
    objects = {p.name: yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))}
    return Rendered(env, out, objects, (head, git_head()))


def fetch_openapi(dest: Path) -> None:
    """Copy the OpenAPI v3 spec files out of the k8s.io/kubernetes module source (Go module proxy)."""
    go = shutil.which("go")
    assert go, "the Kubernetes OpenAPI schemas are not cached and `go` is missing to fetch them"
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"k8s.io/kubernetes@{KUBERNETES_VERSION}"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd="/tmp",
    )
    assert proc.returncode == 0, f"go mod download failed: {proc.stderr[-2000:]}"
    source = Path(json.loads(proc.stdout)["Dir"]) / "api" / "openapi-spec" / "v3"
    files = sorted(source.glob("*.json"))
    assert files, f"no OpenAPI v3 files under {source}"
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for f in files:
        shutil.copy(f, partial / f.name)
    partial.rename(dest)


def iter_leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Flatten nested dicts and lists into (path, leaf) pairs; list items are keyed by their `name`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from iter_leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            key = item.get("name", i) if isinstance(item, dict) else i
            yield from iter_leaves(item, f"{path}[{key}]")
    else:
        yield path, value
