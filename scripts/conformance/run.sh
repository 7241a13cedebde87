#!/usr/bin/env bash
# Run the [Conformance] tests of the cached e2e.test against the cluster, as the upstream instructions do: the
# parallel part with ginkgo --procs, then the [Serial] part with one process; JUnit, logs and a summary land in
# the results folder.
#
#   scripts/conformance/run.sh [--focus REGEX | --subset] [--procs N] [--timeout SECONDS]
#                              [--parts parallel,serial] [--results DIR] [--readme FILE]
#                              [--registry HOST:PORT [--registry-ca FILE]]
#
# --focus narrows both parts (say 'ConfigMap'); --subset runs CI's subset (ci-subset.txt: one regex per line);
# --timeout bounds each part (default 3600 s); --readme writes the summary between FILE's conformance markers.
# Tests that cannot pass on this cluster's shape are listed, each with its reason, in skip.txt (the only skip
# list). Needs build.sh e2e.test ginkgo, build-images.sh and push-images.sh first (`make conformance` runs all):
# it fails at once, naming them, when the registry lacks an image (push-images.sh --check; --registry and
# --registry-ca as push-images.sh's --to and --ca, for a registry this machine reaches by another address).
# KUBECONFIG defaults to the admin kubeconfig.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR/../../roles/kube_binaries/files/build-from-goproxy source=versions.env
source "$root/roles/kube_binaries/files/build-from-goproxy/versions.env"
cache_dir="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}"

focus="" procs=2 timeout=3600 parts="parallel,serial" readme="" kind=full
results="" registry_check=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --focus) focus="$2"; kind=focused; shift 2 ;;
    --subset) focus="$(grep -v '^#' "$here/ci-subset.txt" | paste -sd'|')"; kind=subset; shift ;;
    --readme) readme="$2"; shift 2 ;;
    --procs) procs="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    --registry) registry_check+=(--to "$2"); shift 2 ;;
    --registry-ca) registry_check+=(--ca "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

results="${results:-$root/bench/results/conformance/$(date -u +%Y-%m-%dT%H%M)-$kind}"
e2e="$cache_dir/bin/e2e.test-$KUBERNETES_VERSION/e2e.test"
ginkgo="$cache_dir/bin/ginkgo-$GINKGO_VERSION/ginkgo"
repo_list="$cache_dir/conformance/repo-list.yaml"
for f in "$e2e" "$ginkgo" "$repo_list"; do
  [[ -e "$f" ]] || { echo "missing $f (build.sh e2e.test ginkgo; build-images.sh)" >&2; exit 1; }
done
"$here/push-images.sh" --check "${registry_check[@]}" >/dev/null || {
  echo "the registry asked lacks test images (above); push them, or name the registry the cluster pulls from" \
    "with --registry HOST:PORT [--registry-ca FILE]" >&2
  exit 1
}
mkdir -p "$results"
# The environment variable, not only the flag: some test packages resolve image names in package-level
# variables at init time (test/e2e/common/util.go's testImages, apps/types.go), before flags are parsed, so
# with --kube-test-repo-list alone the kubectl Update Demo, describe and diff tests still pull registry.k8s.io.
export KUBE_TEST_REPO_LIST="$repo_list"

kubeconfig="${KUBECONFIG:-/etc/kubernetes/admin.conf}"
# One line per node: its taints.
taints="$("${KUBECTL:-/opt/cloudnative/bin/kubectl}" --kubeconfig="$kubeconfig" get nodes \
  -o jsonpath='{range .items[*]}{.spec.taints}{"\n"}{end}')"
nodes="$(wc -l <<<"$taints")"
untainted="$(grep -vc NoSchedule <<<"$taints" || true)"
# skip.txt: the lines that apply to this cluster's shape, into the results (summarize.py lists them).
shape=$([[ $untainted -lt 2 ]] && echo single-node || echo multi-node)
awk -F'\t' -v shape="$shape" '!/^#/ && NF >= 3 && ($2 == "always" || $2 == shape) {print $1 "\t" $3}' \
  "$here/skip.txt" >"$results/skipped.tsv"
skip="$(cut -f1 "$results/skipped.tsv" | paste -sd'|')"

rc=0
for part in ${parts//,/ }; do
  case "$part" in
    parallel) labels='Conformance && !Serial && !Disruptive' n="$procs" ;;
    serial) labels='Conformance && (Serial || Disruptive)' n=1 ;;
    *) echo "unknown part: $part" >&2; exit 2 ;;
  esac
  echo "$(date -u +%T) conformance: $part part, $n process(es), focus '${focus:-all}', bound ${timeout}s" >&2
  start="$(date +%s)"
  part_rc=0
  timeout --kill-after=60 "$timeout" "$ginkgo" --procs="$n" --no-color --timeout="$((timeout - 30))s" \
    --label-filter="$labels" ${focus:+--focus="$focus"} ${skip:+--skip="$skip"} \
    --junit-report="junit-$part.xml" --output-dir="$results" \
    "$e2e" -- --provider=skeleton --kubeconfig="$kubeconfig" \
    --kube-test-repo-list="$repo_list" --report-dir="$results/report-$part" \
    >"$results/e2e-$part.log" 2>&1 || part_rc=$?
  echo "$part	$(( $(date +%s) - start ))	$part_rc" >>"$results/parts.tsv"
  [[ $part_rc -eq 0 ]] || rc=$part_rc
done

python3 "$here/summarize.py" --version "$KUBERNETES_VERSION" --kind "$kind" --nodes "$nodes" \
  --skip-list "$results/skipped.tsv" --durations "$results/durations.tsv" \
  --parts "$results/parts.tsv" --results "${results#"$root"/}" ${readme:+--readme "$readme"} \
  "$results"/junit-*.xml | tee "$results/summary.md"
exit "$rc"
