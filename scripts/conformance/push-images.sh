#!/usr/bin/env bash
# Push the conformance test images that build-images.sh wrote to the cluster's registry, each reference of
# images.tsv unless the registry already holds that digest under it.
#
#   scripts/conformance/push-images.sh [--to HOST:PORT] [--ca FILE] [--check]
#
# --check pushes nothing: it names every image the registry does not hold and fails if there is one (run.sh
# asks this before starting ginkgo, whose pods would otherwise wait minutes on an image they cannot pull).
# --to pushes to that address instead of the references' registry host (the repositories and tags stay): the
# multi-node cluster's registry, which its nodes call registry.cloudnative but this machine reaches by address;
# --ca names the CA that registry's certificate is signed by (default: the local registry's, /etc/cloudnative).
# crane logs in to a private DOCKER_CONFIG with the registry password (CLOUDNATIVE_REGISTRY_PASSWORD, else the
# file the registry role generated) and trusts the registry's CA through SSL_CERT_DIR, as cluster_addons does.
set -euo pipefail
shopt -s inherit_errexit

cache_dir="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}"
list="$cache_dir/conformance/images.tsv"
crane="${CRANE:-/opt/cloudnative/bin/crane}"
user="${CLOUDNATIVE_REGISTRY_USERNAME:-cloudnative}"
password_file="$HOME/.config/cloudnative-httpserver/registry-password"
to="" ca="" ca_dir=/etc/cloudnative/registry check=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --to) to="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --ca) ca="$2"; ca_dir="$(mktemp -d)"; cp "$2" "$ca_dir/ca.crt"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -s "$list" ]] || { echo "no $list: run build-images.sh first" >&2; exit 1; }

export DOCKER_CONFIG="$HOME/.config/cloudnative-httpserver/crane-conformance"
export SSL_CERT_DIR="/etc/ssl/certs:$ca_dir"
mkdir -p "$DOCKER_CONFIG"
chmod 0700 "$DOCKER_CONFIG"
registry="${to:-$(cut -f2 "$list" | head -n1 | cut -d/ -f1)}"
if [[ -n "${CLOUDNATIVE_REGISTRY_PASSWORD:-}" ]]; then
  printf '%s' "$CLOUDNATIVE_REGISTRY_PASSWORD" | "$crane" auth login "$registry" -u "$user" --password-stdin >/dev/null
else
  "$crane" auth login "$registry" -u "$user" --password-stdin <"$password_file" >/dev/null
fi

missing=0
while IFS=$'\t' read -r tarball ref; do
  ref="$registry/${ref#*/}"
  want="$("$crane" digest --tarball "$tarball")"
  have="$("$crane" digest "$ref" 2>/dev/null || true)"
  if [[ "$want" == "$have" ]]; then
    echo "present $ref@$want"
  elif [[ -n "$check" ]]; then
    echo "missing $ref@$want${have:+ (the registry has $have)}" >&2
    missing=$((missing + 1))
  else
    "$crane" push "$tarball" "$ref" >/dev/null 2>"$DOCKER_CONFIG/push.log" || { cat "$DOCKER_CONFIG/push.log" >&2; exit 1; }
    echo "pushed  $ref@$want"
  fi
done <"$list"
if [[ $missing -gt 0 ]]; then
  echo "$missing conformance image(s) missing in $registry:" \
    "run scripts/conformance/push-images.sh${to:+ --to $to}${ca:+ --ca $ca} first" >&2
  exit 1
fi
