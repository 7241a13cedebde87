#!/usr/bin/env bash
# The stages of `make test` that need no cluster: lint, unit, manifest and process tests, the collection checks.
# Each stage runs even when an earlier one failed; the exit status is non-zero if any failed, and the last line
# names them (`make check`). `make test` runs this niced in the background once the cluster is up, beside the
# image, deploy and end-to-end stages, which mostly wait on the cluster.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
venv=.venv
failed=()

stage() {
  local name=$1; shift
  scripts/stage.sh "$name" "$@" || failed+=("$name")
}

stage lint make --no-print-directory lint
stage unit "$venv/bin/pytest" -q tests/unit
# Its ansible-lint and ruff checks (for `pytest tests/manifests` alone) are the lint stage's commands: not twice.
stage manifests "$venv/bin/pytest" -q tests/manifests \
  --deselect tests/manifests/test_lint.py::test_ansible_lint_production_profile_is_clean \
  --deselect tests/manifests/test_lint.py::test_ruff_is_clean_on_the_manifest_and_e2e_tests
stage process "$venv/bin/pytest" -q tests/process
# Galaxy's importer and ansible-test sanity on the built tarball.
stage collection-checks scripts/collection-checks/run.sh

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED checks: ${failed[*]}"
  exit 1
fi
echo "All checks passed."
