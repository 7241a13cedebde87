#!/usr/bin/env bash
# Builds the wheels the image installs offline into build/wheels/: the app's own wheel, its pinned
# dependencies as CPython 3.11 manylinux x86_64 wheels (what the Debian bookworm base runs), and pip itself
# (the Dockerfile runs pip from its wheel, so the image's venv needs no pip of its own).
# Env: PYTHON (default .venv/bin/python, else python3), WHEELS_DIR (default build/wheels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
out=${WHEELS_DIR:-build/wheels}
pip_version=25.0.1

rm -rf "$out"
mkdir -p "$out"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$out" ./app
# The pinned dependencies, read from app/pyproject.toml.
mapfile -t deps < <("$python" -c '
import tomllib
with open("app/pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))')
"$python" -m pip download --quiet --dest "$out" --only-binary=:all: \
  --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
  "pip==$pip_version" "${deps[@]}"
echo "build-wheels: wheels in $out:"
find "$out" -name '*.whl' -printf '  %f\n' | sort
