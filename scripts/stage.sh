#!/usr/bin/env bash
# Runs one named stage of a longer job and prints how long it took, so CI logs show where time goes.
# Usage: scripts/stage.sh NAME COMMAND [ARGS...]
set -uo pipefail
name=$1; shift
start=$(date +%s)
printf '\n==> [%s] stage %s: %s\n' "$(date -u +%H:%M:%S)" "$name" "$*"
"$@"
rc=$?
printf '<== [%s] stage %s: %s in %ss\n' "$(date -u +%H:%M:%S)" "$name" \
  "$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" "$(( $(date +%s) - start ))"
exit $rc
