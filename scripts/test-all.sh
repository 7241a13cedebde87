#!/usr/bin/env bash
# `make test`: every level of test, each stage timed; the checks that need no cluster run beside the first
# end-to-end stages (below). The end-to-end levels bring up (or
# reuse) the Docker Engine, registry, cluster and both deployments they need, through the same playbooks a
# user runs. Every stage runs even when an earlier one failed, except those that need what failed; the
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

stage() {
  local name=$1; shift
  if scripts/stage.sh "$name" "$@"; then return 0; fi
  failed+=("$name")
  return 1
}

stage test-packages scripts/install-test-packages.sh
# The checks that need no cluster (scripts/test-checks.sh) run in the background beside the image, deploy and
# end-to-end stages, which mostly wait on the cluster; their log is printed when they end. They start after the
# cluster's bring-up: in a cold run that is a CPU-bound build, beside which they would only stretch (and their
# own timeouts expire). Niced below the cluster, above the conformance build that shares those stages with them.
checks_pid=""
checks_log="$CLOUDNATIVE_TIMING_DIR/checks.log"
start_checks() {
  nice -n 10 scripts/test-checks.sh >"$checks_log" 2>&1 &
  checks_pid=$!
}
wait_for_checks() {
  [ -n "$checks_pid" ] || return 0
  wait "$checks_pid" || failed+=(checks)
  checks_pid=""
  sed 's/^/[checks] /' "$checks_log"
}

# Everything below needs the cluster and the deployments: `make up`, staged.
cluster_ok=false
stage cluster-up "$venv/bin/ansible-playbook" playbooks/cluster.yml -i inventories/dev && cluster_ok=true
start_checks
if $cluster_ok; then
  stage image "$venv/bin/pytest" -q tests/image
  stage deploy-dev "$venv/bin/ansible-playbook" playbooks/site.yml -i inventories/dev
  stage deploy-prod "$venv/bin/ansible-playbook" playbooks/site.yml -i inventories/prod
  # The conformance suite's binaries and image tarballs need no cluster: built niced in the background while
  # the next stages mostly wait on the cluster (about 5 minutes of a cold run; nothing when cached).
  prep_log="$CLOUDNATIVE_TIMING_DIR/conformance-prep.log"
  nice -n 19 make --no-print-directory conformance-prep >"$prep_log" 2>&1 &
  prep_pid=$!
  stage e2e "$venv/bin/pytest" -q tests/e2e
  # The checks end before the consumer and load tests, so the load tests (which count every failed request)
  # do not share the CPU with them.
  wait_for_checks
  # The tarball installed elsewhere renders and deploys a third environment, then removes it.
  stage consumer "$venv/bin/pytest" -q tests/collection
  stage load "$venv/bin/pytest" -q tests/load
  # CI's subset of the upstream Kubernetes conformance suite (make conformance-subset; the full run is
  # make conformance): e2e.test, ginkgo and the test images built (cached) and pushed, then the run.
  prep_ok=true
  wait "$prep_pid" || { prep_ok=false; failed+=(conformance-prep); }
  sed 's/^/[conformance-prep] /' "$prep_log"
  if $prep_ok && stage conformance-images make --no-print-directory conformance-images; then
    stage conformance-subset scripts/conformance/run.sh --subset --parts parallel --timeout 600 \
      --results "$CLOUDNATIVE_TIMING_DIR/conformance-subset"
  fi
  stage molecule-default "$venv/bin/molecule" test -s default
  # Last, as it tears the cluster down (and checks nothing is left behind) before bringing it back empty.
  stage molecule-cluster "$venv/bin/molecule" test -s cluster
fi
wait_for_checks

scripts/timing-report.sh "$CLOUDNATIVE_TIMING_DIR"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "All stages passed."
