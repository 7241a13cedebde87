#!/usr/bin/env bash
# Copies the cluster binaries from the controller's cache into node containers' /opt/cloudnative/bin
# (docker cp stands in for what a role would do with ansible.builtin.copy / synchronize over SSH).
#   ./push-binaries.sh <container>... ; components present in the cache are copied, others skipped.
set -euo pipefail
cache=~/.cache/cloudnative-httpserver/bin
for c in "$@"; do
  docker exec "$c" mkdir -p /opt/cloudnative/bin
  for dir in "$cache"/*/; do
    for f in "$dir"*; do
      [ -x "$f" ] && [ -f "$f" ] || continue
      docker cp "$f" "$c:/opt/cloudnative/bin/$(basename "$f")"
    done
  done
  echo "$c: $(docker exec "$c" ls /opt/cloudnative/bin | tr '\n' ' ')"
done
