#!/usr/bin/env python
"""Write a container image tarball from local static binaries (and optional base layers), without docker.

The tarball holds both layouts that `docker save` (Docker 25+) writes: an OCI image layout (oci-layout,
index.json, blobs/sha256/...) and the Docker archive manifest.json pointing at the same blobs, so
`ctr images import`, `crane push` and `docker load` all accept it. The output is reproducible: fixed file
times, owners and gzip header, so the same binaries always give the same image digest.

    make-image.py --ref registry.cloudnative:5000/cloudnative/coredns:v1.14.7 \
        --file /path/to/coredns:/coredns --entrypoint /coredns --user 65532 --out coredns-v1.14.7.tar

With --base-layer ROOTFS.tar (an uncompressed tar of a root filesystem, repeatable, lowest first) the files
go into a layer on top of it and the base brings its own /etc/passwd and /etc/group; --file SRC:DEST:MODE
sets an octal mode (04755 for a setuid binary) and --symlink DEST:TARGET adds a symbolic link.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
EPOCH = 0  # reproducible timestamps; the image's "created" field says 1970 on purpose

NONROOT_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
NONROOT_GROUP = "root:x:0:\nnonroot:x:65532:\n"


@dataclass
class ImageSpec:
    ref: str
    files: list[tuple[Path, str]]
    entrypoint: list[str]
    cmd: list[str] = field(default_factory=list)
    user: str = "65532:65532"
    env: list[str] = field(default_factory=lambda: ["PATH=/usr/local/bin:/usr/bin:/bin"])
    ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    arch: str = "amd64"
    base_layers: list[Path] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)  # DEST -> mode, for files not 0755
    symlinks: list[tuple[str, str]] = field(default_factory=list)  # (DEST, TARGET)
    workdir: str = "/"


def _add_dir(tar: tarfile.TarFile, name: str, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = EPOCH
    tar.addfile(info)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = EPOCH
    tar.addfile(info, io.BytesIO(data))


def build_layer(
    files: list[tuple[Path, str]],
    *,
    accounts: bool = True,
    modes: dict[str, int] | None = None,
    symlinks: list[tuple[str, str]] | None = None,
) -> bytes:
    """Return the uncompressed layer tar: the files (0755 unless `modes` says otherwise) and symlinks, a
    sticky /tmp, and, with `accounts`, an /etc/passwd and /etc/group that know `nonroot` (65532)."""
    modes = modes or {}
    symlinks = symlinks or []
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = {"etc", "tmp"} if accounts else {"tmp"}
        for dest in [d for _src, d in files] + [d for d, _target in symlinks]:
            parts = Path(dest.lstrip("/")).parts[:-1]
            dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        for d in sorted(dirs):
            _add_dir(tar, d, 0o1777 if d == "tmp" else 0o755)
        if accounts:
            _add_bytes(tar, "etc/passwd", NONROOT_PASSWD.encode(), 0o644)
            _add_bytes(tar, "etc/group", NONROOT_GROUP.encode(), 0o644)
        for src, dest in sorted(files, key=lambda f: f[1]):
            _add_bytes(tar, dest.lstrip("/"), src.read_bytes(), modes.get(dest, 0o755))
        for dest, target in sorted(symlinks):
            info = tarfile.TarInfo(dest.lstrip("/"))
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mode = 0o777
            info.mtime = EPOCH
            tar.addfile(info)
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=EPOCH, compresslevel=6) as gz:
        gz.write(data)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def normalize_ref(ref: str) -> str:
    """Return the fully qualified name containerd and the kubelet use (docker.io/library/... rules)."""
    first, _slash, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return ref
    if not rest:
        return "docker.io/library/" + ref
    return "docker.io/" + ref


def image_blobs(spec: ImageSpec) -> tuple[dict[str, bytes], dict[str, object], bytes]:
    """Return (blobs by digest, manifest descriptor, index.json bytes) for the image."""
    layers = [path.read_bytes() for path in spec.base_layers]
    if spec.files or spec.symlinks or not layers:
        layers.append(build_layer(spec.files, accounts=not layers, modes=spec.modes, symlinks=spec.symlinks))
    layers_gz = [_gzip(layer) for layer in layers]
    config = {
        "architecture": spec.arch,
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": spec.user,
            "Env": spec.env,
            **({"Entrypoint": spec.entrypoint} if spec.entrypoint else {}),
            **({"Cmd": spec.cmd} if spec.cmd else {}),
            **({"ExposedPorts": {p: {} for p in spec.ports}} if spec.ports else {}),
            **({"Labels": spec.labels} if spec.labels else {}),
            "WorkingDir": spec.workdir,
        },
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer) for layer in layers]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "make-image.py"} for layer in layers],
    }
    config_bytes = _json(config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _digest(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": _digest(gz), "size": len(gz)} for gz in layers_gz],
    }
    manifest_bytes = _json(manifest)
    tag = spec.ref.rsplit(":", 1)[1] if ":" in spec.ref.rsplit("/", 1)[-1] else "latest"
    descriptor: dict[str, object] = {
        "mediaType": OCI_MANIFEST,
        "digest": _digest(manifest_bytes),
        "size": len(manifest_bytes),
        "platform": {"architecture": spec.arch, "os": "linux"},
        "annotations": {
            "io.containerd.image.name": normalize_ref(spec.ref),
            "org.opencontainers.image.ref.name": tag,
        },
    }
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}
    blobs = {_digest(b): b for b in (*layers_gz, config_bytes, manifest_bytes)}
    return blobs, descriptor, _json(index)


def write_image(spec: ImageSpec, out: Path) -> str:
    """Write the tarball atomically; return the manifest digest."""
    blobs, descriptor, index_bytes = image_blobs(spec)
    manifest = json.loads(blobs[str(descriptor["digest"])])
    docker_manifest = [
        {
            "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":", 1)[1],
            "RepoTags": [spec.ref],
            "Layers": ["blobs/sha256/" + layer["digest"].split(":", 1)[1] for layer in manifest["layers"]],
        }
    ]
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    try:
        with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add_dir(tar, "blobs", 0o755)
            _add_dir(tar, "blobs/sha256", 0o755)
            for digest in sorted(blobs):
                _add_bytes(tar, "blobs/sha256/" + digest.split(":", 1)[1], blobs[digest], 0o644)
            _add_bytes(tar, "index.json", index_bytes, 0o644)
            _add_bytes(tar, "manifest.json", _json(docker_manifest), 0o644)
            _add_bytes(tar, "oci-layout", _json({"imageLayoutVersion": "1.0.0"}), 0o644)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return str(descriptor["digest"])


def parse_args(argv: list[str]) -> tuple[ImageSpec, Path]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", required=True, help="image reference recorded in the tarball")
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="SRC:DEST[:MODE]",
        help="host file to put at DEST in the image (octal MODE, default 0755); repeatable",
    )
    parser.add_argument(
        "--base-layer",
        action="append",
        default=[],
        type=Path,
        metavar="ROOTFS.tar",
        help="uncompressed tar of a root filesystem, below the files' layer; repeatable, lowest first",
    )
    parser.add_argument(
        "--symlink", action="append", default=[], metavar="DEST:TARGET", help="symbolic link; repeatable"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="replaces the default PATH"
    )
    parser.add_argument("--workdir", default="/")
    parser.add_argument(
        "--entrypoint", default="", help="entrypoint, as a JSON list or a single path (none if empty)"
    )
    parser.add_argument("--cmd", default="", help="default arguments, as a JSON list")
    parser.add_argument("--user", default="65532:65532")
    parser.add_argument("--port", action="append", default=[], help="exposed port such as 53/udp; repeatable")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--arch", default="amd64")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)

    def as_list(value: str) -> list[str]:
        return json.loads(value) if value.startswith("[") else [value]

    files = []
    modes = {}
    for item in args.file:
        src, _colon, dest = item.partition(":")
        dest, _colon, mode = dest.partition(":")
        if not dest.startswith("/"):
            parser.error(f"--file {item}: DEST must be an absolute path")
        if not Path(src).is_file():
            parser.error(f"--file {item}: {src} is not a file")
        files.append((Path(src), dest))
        if mode:
            modes[dest] = int(mode, 8)
    if not files and not args.base_layer:
        parser.error("give at least one --file or --base-layer")
    for layer in args.base_layer:
        if not layer.is_file():
            parser.error(f"--base-layer {layer}: not a file")
    symlinks = []
    for item in args.symlink:
        dest, _colon, target = item.partition(":")
        if not dest.startswith("/") or not target:
            parser.error(f"--symlink {item}: want DEST:TARGET with an absolute DEST")
        symlinks.append((dest, target))
    spec = ImageSpec(
        ref=args.ref,
        files=files,
        entrypoint=as_list(args.entrypoint) if args.entrypoint else [],
        cmd=as_list(args.cmd) if args.cmd else [],
        user=args.user,
        ports=args.port,
        labels=dict(label.split("=", 1) for label in args.label),
        arch=args.arch,
        base_layers=args.base_layer,
        modes=modes,
        symlinks=symlinks,
        workdir=args.workdir,
        **({"env": args.env} if args.env else {}),
    )
    return spec, args.out


def main(argv: list[str]) -> int:
    spec, out = parse_args(argv)
    digest = write_image(spec, out)
    print(f"wrote {out} {spec.ref} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
