#!/usr/bin/env bash
# Build every cluster component (or the ones named), up to JOBS Go modules at a time, longest first.
#
#   build-all.sh [--jobs N] [build.sh options] [COMPONENT[@VERSION]...]
#
# Components of one module (the Kubernetes commands) go to one build.sh call, so one `go build` compiles their
# shared packages once. Two modules building side by side keep both cores busy through each build's serial
# parts (package loading, the last large packages, the link); a component already cached is skipped by build.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jobs=2
opts=()
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --jobs) jobs="$2" ;;
    *) opts+=("$1" "$2") ;;
  esac
  shift 2
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "--jobs wants a positive number, got: $jobs" >&2; exit 2; }
if [[ $# -eq 0 ]]; then
  mapfile -t names < <("$here/build.sh" --list | cut -d' ' -f1)
  set -- "${names[@]}"
fi

# Longest build first (seconds measured cold on 2 idle cores), so the short ones fill the gaps at the end.
declare -A cost=([kubernetes]=300 [traefik]=290 [metrics-server]=130 [coredns]=95 [containerd]=60 [etcd]=50
                 [crictl]=30 [crane]=5 [pause]=1 [flanneld]=180 [flannel-cni]=15 [ginkgo]=30
                 [kube-router]=120)
declare -A group=()
for arg in "$@"; do
  case "${arg%%@*}" in
    kube-router) module=kube-router ;;
    kube-*|kubectl|kubelet|e2e.test|agnhost|nonewprivs|sample-apiserver) module=kubernetes ;;
    *) module="${arg%%@*}" ;;
  esac
  group[$module]+="$arg "
done
mapfile -t order < <(for m in "${!group[@]}"; do echo "${cost[$m]:-100} $m"; done | sort -rn | cut -d' ' -f2)

failed=()
declare -A running=()
reap() {
  local pid rc=0
  wait -n -p pid || rc=$?
  [[ $rc -eq 0 ]] || failed+=("${running[$pid]}")
  unset "running[$pid]"
}
for m in "${order[@]}"; do
  while [[ ${#running[@]} -ge $jobs ]]; do reap; done
  # shellcheck disable=SC2086  # the group is a space-separated list of components
  "$here/build.sh" "${opts[@]}" ${group[$m]} &
  running[$!]="$m"
done
while [[ ${#running[@]} -gt 0 ]]; do reap; done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
