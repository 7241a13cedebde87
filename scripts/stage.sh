#!/usr/bin/env bash
# Runs one named stage of a longer job and prints how long it took, so CI logs show where time goes.
# Usage: scripts/stage.sh NAME COMMAND [ARGS...]
# Timing report: each stage appends "name, seconds, result" to $CLOUDNATIVE_TIMING_DIR/stages.tsv, and every
# ansible-playbook it runs (molecule's too) appends its tasks' wall times to <dir>/tasks.tsv through the
# task_timing callback (scripts/callback_plugins). The directory defaults to .timing/ in the checkout.
set -uo pipefail
name=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
timing_dir=${CLOUDNATIVE_TIMING_DIR:-$(dirname "$here")/.timing}
mkdir -p "$timing_dir"
export CLOUDNATIVE_STAGE=$name CLOUDNATIVE_TIMING_FILE=$timing_dir/tasks.tsv
export ANSIBLE_CALLBACK_PLUGINS=$here/callback_plugins${ANSIBLE_CALLBACK_PLUGINS:+:$ANSIBLE_CALLBACK_PLUGINS}
export ANSIBLE_CALLBACKS_ENABLED=task_timing${ANSIBLE_CALLBACKS_ENABLED:+,$ANSIBLE_CALLBACKS_ENABLED}
start=$(date +%s)
printf '\n==> [%s] stage %s: %s\n' "$(date -u +%H:%M:%S)" "$name" "$*"
"$@"
rc=$?
seconds=$(( $(date +%s) - start ))
result=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")
[ -s "$timing_dir/stages.tsv" ] || printf 'started\tstage\tseconds\tresult\n' >"$timing_dir/stages.tsv"
printf '%s\t%s\t%s\t%s\n' "$(date -u -d "@$start" +%FT%TZ)" "$name" "$seconds" "$result" >>"$timing_dir/stages.tsv"
printf '<== [%s] stage %s: %s in %ss\n' "$(date -u +%H:%M:%S)" "$name" "$result" "$seconds"
exit $rc
