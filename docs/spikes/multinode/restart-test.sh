#!/usr/bin/env bash
# Restarts (or stops+starts) one node container and measures how long until its node agents are back:
# podcheck.sh passing again (pods re-created on the node, routes re-made by the pod network, Service works).
#   ./restart-test.sh <container> [restart|kill]   (kill = docker kill -s KILL + docker start: no clean shutdown)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); c=$1 mode=${2:-restart}
t0=$(date +%s.%N)
if [ "$mode" = kill ]; then docker kill -s KILL "$c" >/dev/null; docker start "$c" >/dev/null; else docker restart -t 30 "$c" >/dev/null; fi
echo "docker $mode $c: $(echo "$(date +%s.%N) - $t0" | bc) s"
sleep 5
for i in $(seq 1 40); do
  if "$here/podcheck.sh" >/tmp/spike-podcheck.out 2>&1; then
    echo "podcheck passes again $(echo "$(date +%s.%N) - $t0" | bc) s after the $mode (attempt $i)"; exit 0
  fi
  sleep 2
done
echo "podcheck still failing after $(echo "$(date +%s.%N) - $t0" | bc) s:"; cat /tmp/spike-podcheck.out; exit 1
