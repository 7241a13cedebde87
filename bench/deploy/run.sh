#!/usr/bin/env bash
# One run, on the running cluster with prod deployed, of everything bench/README.md's "Deploys and the
# ingress" section reports:
#   bench/deploy/run.sh
# 1. deploy times: site.yml vs kubectl apply + rollout status vs helm upgrade --install --wait;
# 2. the ingress's cost: /prod/fibo?n=1000 through Traefik vs the Service IP vs one pod IP;
# 3. the rollout and autoscaling load tests, whose per-second series become the PNG plots.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
RESULTS=bench/results
LOAD_RESULTS="${RESULTS}/tmp/load"

bench/deploy/build-helm.sh >/dev/null
echo "== deploy times"
"${PY}" bench/deploy/deploy_times.py --out "${RESULTS}/deploy-times.json"
echo "== ingress cost"
"${PY}" bench/deploy/ingress_cost.py --out "${RESULTS}/deploy-ingress.json"
echo "== rollout and autoscaling under load (plots)"
rm -rf "${LOAD_RESULTS}"
LOAD_RESULTS_DIR="${LOAD_RESULTS}" .venv/bin/pytest -p no:cacheprovider -q tests/load \
  -k "test_a_new_version_rolls_out or test_cpu_load_scales_up_and_back_down" || status=$?
for run in rollout-version autoscaling; do
  if [[ -f "${LOAD_RESULTS}/${run}.json" ]]; then
    cp "${LOAD_RESULTS}/${run}.json" "${RESULTS}/deploy-${run}-run.json"
  fi
done
"${PY}" bench/deploy/plot.py "${RESULTS}/deploy-rollout-version-run.json" "${RESULTS}/deploy-rollout.png" \
  --title "Rolling update of prod (new image tag and version) by site.yml under 100 req/s"
"${PY}" bench/deploy/plot.py "${RESULTS}/deploy-autoscaling-run.json" "${RESULTS}/deploy-autoscaling.png" \
  --title "HPA under CPU load: /prod/fibo?n=100000 (cache off) at 40 req/s, then none"
exit "${status:-0}"
