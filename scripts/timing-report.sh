#!/usr/bin/env bash
# Prints the timing report scripts/stage.sh keeps: every stage of this job, then the slowest playbook tasks.
#   scripts/timing-report.sh [DIR] [N]     (DIR defaults to .timing/ in the checkout, N to 15)
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/.timing}
n=${2:-15}
[[ -s "$dir/stages.tsv" ]] || { echo "no timing report in $dir"; exit 0; }
echo "== stages (seconds)"
column -t -s$'\t' "$dir/stages.tsv"
if [[ -s "$dir/tasks.tsv" ]]; then
  echo "== the $n slowest playbook tasks (stage, seconds, task)"
  # awk stops printing but reads to the end: `head` would leave sort writing into a closed pipe (exit 141).
  tail -n +2 "$dir/tasks.tsv" | sort -t$'\t' -k5,5 -rn \
    | awk -F'\t' -v n="$n" 'NR <= n {printf "%-18s %7.1f  %s\n", $1, $5, substr($4, 1, 100)}'
fi
