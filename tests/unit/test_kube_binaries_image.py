"""Image tarballs from the kube_binaries role's make-image.py are valid OCI layouts and Docker archives."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "roles/kube_binaries/files/build-from-goproxy/make-image.py"
REF = "registry.cloudnative:5000/cloudnative/coredns:v1.14.7"


def _load_module():
    spec = importlib.util.spec_from_file_location("make_image", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "coredns"
    path.write_bytes(b"\x7fELF pretend static binary\n")
    return path


def _make(binary: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--ref",
            REF,
            "--file",
            f"{binary}:/coredns",
            "--entrypoint",
            "/coredns",
            "--user",
            "65532:65532",
            "--port",
            "53/udp",
            "--out",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _blob(members: dict[str, bytes], digest: str) -> bytes:
    algorithm, hexdigest = digest.split(":", 1)
    assert algorithm == "sha256"
    data = members[f"blobs/sha256/{hexdigest}"]
    assert hashlib.sha256(data).hexdigest() == hexdigest, f"blob {digest} does not match its content"
    return data


def test_tarball_has_oci_layout_and_docker_manifest(binary: Path, tmp_path: Path) -> None:
    out = tmp_path / "coredns.tar"
    _make(binary, out)
    members = _members(out)
    assert json.loads(members["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(members["index.json"])
    [descriptor] = index["manifests"]
    assert descriptor["annotations"]["io.containerd.image.name"] == REF
    assert descriptor["annotations"]["org.opencontainers.image.ref.name"] == "v1.14.7"
    manifest = json.loads(_blob(members, descriptor["digest"]))
    assert len(_blob(members, descriptor["digest"])) == descriptor["size"]
    [docker] = json.loads(members["manifest.json"])
    assert docker["RepoTags"] == [REF]
    assert docker["Config"] == "blobs/sha256/" + manifest["config"]["digest"].split(":")[1]
    assert docker["Layers"] == ["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]]


def test_config_runs_the_binary_as_nonroot_and_matches_the_layer(binary: Path, tmp_path: Path) -> None:
    out = tmp_path / "coredns.tar"
    _make(binary, out)
    members = _members(out)
    [descriptor] = json.loads(members["index.json"])["manifests"]
    manifest = json.loads(_blob(members, descriptor["digest"]))
    config = json.loads(_blob(members, manifest["config"]["digest"]))
    assert config["config"]["Entrypoint"] == ["/coredns"]
    assert config["config"]["User"] == "65532:65532"
    assert config["config"]["ExposedPorts"] == {"53/udp": {}}
    layer_gz = _blob(members, manifest["layers"][0]["digest"])
    layer = gzip.decompress(layer_gz)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(layer).hexdigest()]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        entry = tar.getmember("coredns")
        assert entry.mode == 0o755
        assert tar.extractfile(entry).read() == binary.read_bytes()
        assert "65532" in tar.extractfile("etc/passwd").read().decode()
        assert tar.getmember("tmp").mode == 0o1777


def test_same_binary_gives_byte_identical_tarball(binary: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    _make(binary, first)
    _make(binary, second)
    assert first.read_bytes() == second.read_bytes()


def test_relative_destination_is_refused(binary: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--ref",
            REF,
            "--file",
            f"{binary}:coredns",
            "--entrypoint",
            "/coredns",
            "--out",
            str(tmp_path / "x.tar"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "DEST must be an absolute path" in result.stderr
    assert not (tmp_path / "x.tar").exists()


def test_write_image_returns_the_manifest_digest_in_the_index(binary: Path, tmp_path: Path) -> None:
    module = _load_module()
    spec = module.ImageSpec(ref=REF, files=[(binary, "/coredns")], entrypoint=["/coredns"])
    digest = module.write_image(spec, tmp_path / "img.tar")
    index = json.loads(_members(tmp_path / "img.tar")["index.json"])
    assert index["manifests"][0]["digest"] == digest


def test_short_names_are_qualified_for_containerd(binary: Path, tmp_path: Path) -> None:
    module = _load_module()
    assert module.normalize_ref("cloudnative/pause:3.10.1") == "docker.io/cloudnative/pause:3.10.1"
    assert module.normalize_ref("pause:3.10.1") == "docker.io/library/pause:3.10.1"
    assert module.normalize_ref(REF) == REF
    assert module.normalize_ref("localhost/x:1") == "localhost/x:1"
    spec = module.ImageSpec(ref="cloudnative/pause:3.10.1", files=[(binary, "/pause")], entrypoint=["/pause"])
    module.write_image(spec, tmp_path / "pause.tar")
    members = _members(tmp_path / "pause.tar")
    [descriptor] = json.loads(members["index.json"])["manifests"]
    assert descriptor["annotations"]["io.containerd.image.name"] == "docker.io/cloudnative/pause:3.10.1"
    assert json.loads(members["manifest.json"])[0]["RepoTags"] == ["cloudnative/pause:3.10.1"]


def _rootfs_tar(path: Path) -> Path:
    with tarfile.open(path, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = b"root:x:0:0:root:/root:/bin/sh\nuser-defined-in-image:x:1000:1000::/:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_base_layer_goes_below_the_files_and_keeps_its_own_accounts(binary: Path, tmp_path: Path) -> None:
    base = _rootfs_tar(tmp_path / "rootfs.tar")
    out = tmp_path / "agnhost.tar"
    _make(binary, out, "--base-layer", str(base))
    members = _members(out)
    [descriptor] = json.loads(members["index.json"])["manifests"]
    manifest = json.loads(_blob(members, descriptor["digest"]))
    config = json.loads(_blob(members, manifest["config"]["digest"]))
    lower, upper = (gzip.decompress(_blob(members, layer["digest"])) for layer in manifest["layers"])
    assert lower == base.read_bytes(), "the base layer is stored as given"
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(x).hexdigest() for x in (lower, upper)]
    assert len(json.loads(members["manifest.json"])[0]["Layers"]) == 2
    with tarfile.open(fileobj=io.BytesIO(upper)) as tar:
        assert "etc/passwd" not in tar.getnames(), "the files' layer must not hide the base's accounts"


def test_file_mode_and_symlink_are_recorded(binary: Path, tmp_path: Path) -> None:
    out = tmp_path / "nnp.tar"
    _make(binary, out, "--file", f"{binary}:/usr/local/bin/nnp:04755", "--symlink", "/agnhost-2:agnhost")
    members = _members(out)
    [descriptor] = json.loads(members["index.json"])["manifests"]
    manifest = json.loads(_blob(members, descriptor["digest"]))
    layer = gzip.decompress(_blob(members, manifest["layers"][0]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        assert tar.getmember("usr/local/bin/nnp").mode == 0o4755
        link = tar.getmember("agnhost-2")
        assert link.issym() and link.linkname == "agnhost"
