#!/usr/bin/env bash
# Tools the tests drive from outside: busybox-static (a tiny test image), curl, wrk (load), openssl, shellcheck
# (ansible-test sanity runs it on the roles' scripts).
set -euo pipefail
packages=(busybox-static curl wrk openssl shellcheck)
installed=$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -c '^install ok installed$' || true)
if [ "$installed" -ne "${#packages[@]}" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
fi
echo "test packages present: ${packages[*]}"

# checkov (the manifest scanner of tests/manifests/test_checkov.py) in a venv of its own: its pins would fight
# the project's (ansible, kubernetes). Created once per version, in the cache.
checkov_version=3.3.30
checkov_venv="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}/venv-checkov-$checkov_version"
# Built in place (a venv cannot move: its scripts name their interpreter by path); .complete marks a whole one.
if [ ! -f "$checkov_venv/.complete" ]; then
  rm -rf "$checkov_venv"
  python3 -m venv "$checkov_venv"
  "$checkov_venv/bin/pip" install -q "checkov==$checkov_version"
  touch "$checkov_venv/.complete"
fi
echo "checkov $checkov_version present: $checkov_venv/bin/checkov"
