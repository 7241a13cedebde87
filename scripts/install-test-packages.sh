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
