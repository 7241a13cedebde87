#!/usr/bin/env bash
# Build Helm v3 from the Go module proxy once, cached by version outside the checkout:
#   bench/deploy/build-helm.sh   ->  prints the path of the helm binary
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${HOME}/.cache/cloudnative-httpserver"
BIN_DIR="${CACHE}/bin/helm-${HELM_VERSION}"
if [[ ! -x "${BIN_DIR}/helm" ]]; then
  mkdir -p "${BIN_DIR}" "${CACHE}/build-logs"
  echo "building helm ${HELM_VERSION} from the Go module proxy (a few minutes)..." >&2
  # -p 1 bounds memory on a 2-core machine; the version is stamped as upstream's Makefile does.
  GOBIN="${BIN_DIR}" CGO_ENABLED=0 go install -p 1 -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}" >"${CACHE}/build-logs/helm-${HELM_VERSION}.log" 2>&1
fi
"${BIN_DIR}/helm" version --short >&2
echo "${BIN_DIR}/helm"
