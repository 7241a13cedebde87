#!/usr/bin/env bash
# Build every cluster component (or the ones named) one after another, in the order the cluster needs them.
#
#   build-all.sh [--install-dir DIR] [--status-file FILE] [COMPONENT...]
#
# Options are passed on to build.sh; a component already in the cache is skipped by build.sh itself.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
opts=()
while [[ $# -gt 0 && "$1" == --* ]]; do opts+=("$1" "$2"); shift 2; done
if [[ $# -eq 0 ]]; then
  mapfile -t names < <("$here/build.sh" --list | cut -d' ' -f1)
  set -- "${names[@]}"
fi
failed=()
for component in "$@"; do
  "$here/build.sh" "${opts[@]}" "$component" || failed+=("$component")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
