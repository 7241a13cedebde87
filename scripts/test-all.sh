#!/usr/bin/env bash
# `make test`: every level of test, each stage timed, some side by side (below). The end-to-end levels bring
# up (or reuse) the Docker Engine, registry, cluster and both deployments they need, through the playbooks
# a user runs. Every stage runs even when an earlier one failed, except those that need what failed; the
# exit status is non-zero if any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0
venv=.venv
# molecule runs ansible-config and ansible-playbook from PATH.
export PATH="$PWD/$venv/bin:$PATH"
failed=()
# A fresh timing report for this run (scripts/stage.sh appends to it); printed at the end.
export CLOUDNATIVE_TIMING_DIR=${CLOUDNATIVE_TIMING_DIR:-$PWD/.timing/test}
rm -rf "$CLOUDNATIVE_TIMING_DIR"
mkdir -p "$CLOUDNATIVE_TIMING_DIR"

stage() {
  local name=$1; shift
  if scripts/stage.sh "$name" "$@"; then return 0; fi
  failed+=("$name")
  return 1
}

# Stage chains run in the background beside the next stages, which mostly wait on the cluster: each one's
# output goes to a log, printed (prefixed with its name) when it is waited for.
declare -A background_pid=()
background() {
  local name=$1; shift
  "$@" >"$CLOUDNATIVE_TIMING_DIR/$name.log" 2>&1 &
  background_pid[$name]=$!
}
wait_background() {
  local name=$1 rc=0
  [ -n "${background_pid[$name]:-}" ] || return 0
  wait "${background_pid[$name]}" || { rc=1; failed+=("$name"); }
  unset "background_pid[$name]"
  sed "s/^/[$name] /" "$CLOUDNATIVE_TIMING_DIR/$name.log"
  return $rc
}

stage test-packages scripts/install-test-packages.sh

# Everything below needs the cluster and the deployments: `make up`, staged.
cluster_ok=false
stage cluster-up "$venv/bin/ansible-playbook" playbooks/cluster.yml -i inventories/dev && cluster_ok=true
# The checks that need no cluster (scripts/test-checks.sh) start once the cluster is up: in a cold run its
# bring-up is a CPU-bound build, beside which they would only stretch (and their own timeouts expire). Niced
# below the cluster, above the conformance build that shares the next stages with them.
background checks nice -n 10 scripts/test-checks.sh
if $cluster_ok; then
  stage image "$venv/bin/pytest" -q tests/image
  stage deploy-dev "$venv/bin/ansible-playbook" playbooks/site.yml -i inventories/dev
  stage deploy-prod "$venv/bin/ansible-playbook" playbooks/site.yml -i inventories/prod
  # The conformance suite's binaries and image tarballs need no cluster (about 5 minutes of a cold run;
  # nothing when cached).
  background conformance-prep nice -n 19 make --no-print-directory conformance-prep
  stage e2e "$venv/bin/pytest" -q tests/e2e
  # The load tests count every failed request: the checks end first (in a run whose conformance cache is
  # cold, its build may still run beside them, at nice 19).
  wait_background checks
  stage load "$venv/bin/pytest" -q tests/load
  # CI's subset of the upstream Kubernetes conformance suite (the full run is make conformance): the test
  # images pushed (cached), then the run, in its own namespaces, beside the consumer test and molecule's
  # default scenario: the suite's parallel part is made to share a cluster, and these two only deploy (the
  # consumer in a third namespace) and read.
  wait_background conformance-prep &&
    background conformance make --no-print-directory conformance-subset \
      CONFORMANCE_RESULTS="$CLOUDNATIVE_TIMING_DIR/conformance-subset"
  # The tarball installed elsewhere renders and deploys a third environment, then removes it.
  stage consumer "$venv/bin/pytest" -q tests/collection
  stage molecule-default "$venv/bin/molecule" test -s default
  wait_background conformance
  # Last, as it tears the cluster down (and checks nothing is left behind) before bringing it back empty.
  stage molecule-cluster "$venv/bin/molecule" test -s cluster
fi
wait_background checks

scripts/timing-report.sh "$CLOUDNATIVE_TIMING_DIR"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "All stages passed."
