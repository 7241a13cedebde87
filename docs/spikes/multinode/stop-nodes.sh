#!/usr/bin/env bash
# Removes only what start-nodes.sh created: containers spike-* labelled spike-multinode=1, their volumes, spike-net.
set -uo pipefail
for c in $(docker ps -a --filter label=spike-multinode=1 --format '{{.Names}}'); do
  case "$c" in spike-*) docker rm -f "$c" >/dev/null && echo "removed container $c"; docker volume rm "$c-containerd" >/dev/null 2>&1 && echo "removed volume $c-containerd";; esac
done
docker network rm spike-net >/dev/null 2>&1 && echo "removed network spike-net"
exit 0
