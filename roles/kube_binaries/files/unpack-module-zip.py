#!/usr/bin/env python
"""Unpack a Go module zip (such as golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64.zip) into a directory.

    unpack-module-zip.py MODULE.zip DEST

Every entry sits under one "<module path>@<version>/" prefix, which is dropped; the Unix mode bits stored in
the zip are restored (zipfile.extractall ignores them, and bin/go must stay executable). DEST is written next
to itself first and renamed at the end, so an interrupted run never leaves a half-unpacked toolchain behind.
"""

import pathlib
import shutil
import sys
import zipfile


def main(archive: str, dest: str) -> int:
    target = pathlib.Path(dest)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        first = zf.namelist()[0]
        if "@" not in first:
            print(f"{archive}: not a Go module zip (first entry {first})", file=sys.stderr)
            return 1
        # "<module path>@<version>/": the module path may hold slashes, the version none.
        prefix = first[: first.index("/", first.index("@")) + 1]
        for info in zf.infolist():
            if not info.filename.startswith(prefix):
                print(f"{archive}: entry {info.filename} is outside {prefix}", file=sys.stderr)
                return 1
            relative = info.filename[len(prefix) :]
            if not relative or info.is_dir():
                continue
            path = staging / relative
            if ".." in pathlib.PurePosixPath(relative).parts:
                print(f"{archive}: refusing entry {info.filename}", file=sys.stderr)
                return 1
            path.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            path.chmod(mode or 0o644)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    print(f"unpacked {archive} into {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
