"""Fixtures for the manifest tests: render.yml output for dev and prod, and the Kubernetes OpenAPI schemas.

Nothing here needs a cluster or Docker. The renders run once per session into temporary directories, with
secrets included (a throwaway CA in a temporary directory and a fake registry password), so the Secrets are
checked too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rendering import ENVS, OPENAPI_CACHE, ROOT, Rendered, fetch_openapi, render


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> dict[str, Rendered]:
    dev = render("dev", tmp_path_factory.mktemp("render-dev"), tls_dir)
    # prod gets dev's computed tag, so a commit landing between the two renders cannot make them differ.
    tag = dev.objects["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(":", 1)[
        1
    ]
    prod = render(
        "prod", tmp_path_factory.mktemp("render-prod"), tls_dir, "-e", f"httpserver_image_tag={tag}"
    )
    # staging names a prebuilt image, as a user of the installed collection without the app's source would.
    image = dev.objects["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"]
    staging = render(
        "staging", tmp_path_factory.mktemp("render-staging"), tls_dir, "-e", f"httpserver_image={image}"
    )
    return {"dev": dev, "staging": staging, "prod": prod}


@pytest.fixture(scope="session")
def group_vars() -> dict[str, dict[str, Any]]:
    return {
        env: yaml.safe_load((ROOT / f"inventories/{env}/group_vars/{env}.yml").read_text()) for env in ENVS
    }


@pytest.fixture(scope="session")
def openapi_schemas() -> dict[str, Any]:
    """All component schemas of Kubernetes' OpenAPI v3 spec, merged into one name -> schema map."""
    if not any(OPENAPI_CACHE.glob("*.json")):
        fetch_openapi(OPENAPI_CACHE)
    schemas: dict[str, Any] = {}
    for f in sorted(OPENAPI_CACHE.glob("*.json")):
        schemas.update(json.loads(f.read_text()).get("components", {}).get("schemas", {}))
    return schemas
