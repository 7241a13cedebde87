#!/usr/bin/env bash
# Build the benchmark's Go programs into $BENCH_BIN_DIR (outside the repository):
# the seed-style Go server and the open-loop load generator from this folder, and
# podinfo from the Go module proxy. podinfo's go.mod declares the module path
# github.com/stefanprodan/podinfo (the /v6 path is not on the proxy); the pinned
# pseudo-version is the proxy's @latest of 2025-09 (it reports v6.9.2).
# A podinfo build failure is reported but does not stop the others.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="${BENCH_BIN_DIR:-$HOME/.cache/cloudnative-httpserver/bench}"
podinfo_version="${PODINFO_VERSION:-v1.8.1-0.20250910200901-e86405a8674e}"
mkdir -p "$bin_dir"

(cd "$here/goserver" && go build -trimpath -o "$bin_dir/goserver" .)
(cd "$here/../openloop" && go build -trimpath -o "$bin_dir/openloop" .)

stamp="$bin_dir/podinfo.version"
if [[ -x "$bin_dir/podinfo" && "$(cat "$stamp" 2>/dev/null)" == "$podinfo_version" ]]; then
  exit 0
fi
rm -f "$bin_dir/podinfo" "$stamp"
if (cd "$bin_dir" && GOBIN="$bin_dir" go install -trimpath \
      "github.com/stefanprodan/podinfo/cmd/podinfo@${podinfo_version}") >"$bin_dir/podinfo-build.log" 2>&1; then
  echo "$podinfo_version" >"$stamp"
else
  echo "podinfo did not build; see $bin_dir/podinfo-build.log:" >&2
  tail -n 20 "$bin_dir/podinfo-build.log" >&2
fi
