"""A minimal Docker Registry v2 client (basic auth, TLS with the registry's own CA) for the load tests:
retag an image, derive an image whose process never becomes ready, and probe anonymous access."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import requests

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def registry_password() -> str:
    """The same source as the collection: CLOUDNATIVE_REGISTRY_PASSWORD, else the generated 0600 file."""
    env = os.environ.get("CLOUDNATIVE_REGISTRY_PASSWORD")
    if env:
        return env
    path = pathlib.Path.home() / ".config/cloudnative-httpserver/registry-password"
    if not path.exists():
        raise AssertionError(f"no registry password: CLOUDNATIVE_REGISTRY_PASSWORD unset and {path} missing")
    # ansible's password lookup may append " salt=..." to the stored line.
    return path.read_text().strip().split(" salt=")[0]


class Registry:
    def __init__(self, host: str, cafile: str, username: str | None = None, password: str | None = None):
        self.base = f"https://{host}/v2"
        self.session = requests.Session()
        self.session.verify = cafile
        if username is not None:
            self.session.auth = (username, password or "")

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", timeout=30, **kwargs)

    def manifest(self, repository: str, reference: str) -> tuple[bytes, str]:
        r = self.get(f"{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES})
        r.raise_for_status()
        return r.content, r.headers["Content-Type"].split(";")[0]

    def put_manifest(self, repository: str, tag: str, body: bytes, media_type: str) -> None:
        r = self.session.put(
            f"{self.base}/{repository}/manifests/{tag}",
            data=body,
            headers={"Content-Type": media_type},
            timeout=30,
        )
        r.raise_for_status()

    def retag(self, repository: str, source: str, tag: str) -> None:
        """Push the manifest of ``source`` again under ``tag`` (same image, new name)."""
        body, media_type = self.manifest(repository, source)
        self.put_manifest(repository, tag, body, media_type)

    def upload_blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if self.session.head(f"{self.base}/{repository}/blobs/{digest}", timeout=30).status_code == 200:
            return digest
        r = self.session.post(f"{self.base}/{repository}/blobs/uploads/", timeout=30)
        r.raise_for_status()
        location = r.headers["Location"]
        if location.startswith("/"):
            location = self.base.rsplit("/v2", 1)[0] + location
        sep = "&" if "?" in location else "?"
        r = self.session.put(
            f"{location}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=60,
        )
        r.raise_for_status()
        return digest

    def with_entrypoint(self, repository: str, source: str, tag: str, entrypoint: list[str]) -> None:
        """Push ``tag``: the image ``source`` with its entrypoint replaced (layers shared, config new)."""
        body, media_type = self.manifest(repository, source)
        manifest = json.loads(body)
        if media_type in INDEX_TYPES:
            entry = next(
                m
                for m in manifest["manifests"]
                if m.get("platform", {}).get("architecture") == "amd64"
                and m.get("platform", {}).get("os") == "linux"
            )
            body, media_type = self.manifest(repository, entry["digest"])
            manifest = json.loads(body)
        config_ref = manifest["config"]
        r = self.get(f"{repository}/blobs/{config_ref['digest']}")
        r.raise_for_status()
        image_config = r.json()
        image_config["config"]["Entrypoint"] = entrypoint
        image_config["config"]["Cmd"] = None
        data = json.dumps(image_config, separators=(",", ":")).encode()
        manifest["config"] = dict(config_ref, digest=self.upload_blob(repository, data), size=len(data))
        self.put_manifest(repository, tag, json.dumps(manifest).encode(), media_type)


def split_image(reference: str) -> tuple[str, str, str]:
    """registry.host:5000/repo/name:tag[@sha256:...] -> (registry.host:5000, repo/name, tag)."""
    host, _, rest = reference.split("@")[0].partition("/")
    repository, _, tag = rest.rpartition(":")
    return host, repository, tag
