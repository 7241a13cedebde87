#!/usr/bin/env bash
# Build one cluster component from the Go module proxy into the binary cache.
#
#   build.sh [--cache-dir DIR] [--install-dir DIR] [--status-file FILE] COMPONENT [VERSION]
#   build.sh --list
#
# The result lands atomically in CACHE/bin/<component>-<version>/ (built in a temp dir, then renamed), together
# with BUILD-STATS.tsv (wall seconds and peak RSS of every `go build`). When that directory already exists the
# script prints "cached" and does nothing; after a build it prints "built". Builds are serialised with a lock
# so that two callers never link two Kubernetes binaries at once (memory stays bounded on a small machine).
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_dir="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}"
install_dir=""
status_file=""

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

# In the order the cluster needs them (the control plane helpers wait for etcd, kube-apiserver and kubectl).
components=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy
            containerd crictl crane coredns metrics-server traefik pause)

default_version() {
  case "$1" in
    etcd) echo "$ETCD_VERSION" ;;
    kube-*|kubectl|kubelet) echo "$KUBERNETES_VERSION" ;;
    containerd) echo "$CONTAINERD_VERSION" ;;
    crictl) echo "$CRICTL_VERSION" ;;
    crane) echo "$CRANE_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    metrics-server) echo "$METRICS_SERVER_VERSION" ;;
    traefik) echo "$TRAEFIK_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    *) echo "unknown component: $1" >&2; return 1 ;;
  esac
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --cache-dir) cache_dir="$2"; shift 2 ;;
    --install-dir) install_dir="$2"; shift 2 ;;
    --status-file) status_file="$2"; shift 2 ;;
    --list) for c in "${components[@]}"; do echo "$c $(default_version "$c")"; done; exit 0 ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -ge 1 && $# -le 2 ]] || usage
component="$1"
[[ " ${components[*]} " == *" $component "* ]] || { echo "unknown component: $component (try --list)" >&2; exit 2; }
version="${2:-$(default_version "$component")}"

entry="$cache_dir/bin/$component-$version"
log_dir="$cache_dir/build-logs"
work_root="$cache_dir/work"
mkdir -p "$cache_dir/bin" "$log_dir" "$work_root"
log_file="$log_dir/$component-$version.log"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
[[ "$GOFLAGS" == *-buildvcs=false* ]] || export GOFLAGS="$GOFLAGS -buildvcs=false"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$log_file" >&2; }

# Print "<Time>" (RFC 3339) of a module version from the proxy's .info, used as a reproducible build date.
module_time() {
  go list -m -json "$1@$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Time", ""))'
}

# Create (once) a wrapper module in $work_root/<name> that requires $target@$version, copies the target's own
# versioned `replace` and `exclude` lines (they only act in the main module), and maps its local-path replaces (staging modules) to "<same path>@$local_version"
# when $local_version is given. Prints the wrapper directory.
prepare_wrapper() {
  local name="$1" target="$2" tversion="$3" local_version="$4"
  shift 4
  local dir="$work_root/$name"
  if [[ -f "$dir/.ready" ]]; then echo "$dir"; return; fi
  rm -rf "$dir"
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod init "cloudnative.local/build/${name//[^a-zA-Z0-9.-]/-}" >>"$log_file" 2>&1
    local gomod
    gomod="$(go mod download -json "$target@$tversion" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
    local -a edits=()
    go mod edit -json "$gomod" >.target-go.mod.json
    GOMOD_JSON=.target-go.mod.json LOCAL_VERSION="$local_version" python3 -c '
import json, os, sys
local_version = os.environ["LOCAL_VERSION"]
for rep in json.load(open(os.environ["GOMOD_JSON"])).get("Replace") or []:
    old, new = rep["Old"], rep["New"]
    lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
    if new.get("Version"):
        print("-replace=%s=%s@%s" % (lhs, new["Path"], new["Version"]))
    elif local_version and not new["Path"].startswith("./FORBIDDEN"):
        print("-replace=%s=%s@%s" % (lhs, old["Path"], local_version))
for exc in json.load(open(os.environ["GOMOD_JSON"])).get("Exclude") or []:
    print("-exclude=%s@%s" % (exc["Path"], exc["Version"]))
' >.replaces
    mapfile -t edits <.replaces
    if [[ ${#edits[@]} -gt 0 ]]; then go mod edit "${edits[@]}"; fi
    # Same toolchain directive as the target, so its language version and default GODEBUGs apply.
    local target_go
    target_go="$(go mod edit -json "$gomod" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Go") or "")')"
    if [[ -n "$target_go" ]]; then go mod edit -go="$target_go"; fi
    log "wrapper $name: ${#edits[@]} replace/exclude lines copied from $target@$tversion (go $target_go)"
    go get "$target@$tversion" "$@" >>"$log_file" 2>&1
  )
  touch "$dir/.ready"
  echo "$dir"
}

# build_pkg <workdir> <tmpdir> <output name> <package> <tags> <ldflags>
build_pkg() {
  local dir="$1" out_dir="$2" out="$3" pkg="$4" tags="$5" ldflags="$6"
  local tfile="$out_dir/.time-$out"
  log "go build $pkg -> $out"
  local start end
  start="$(date +%s)"
  # -mod=mod only adds missing go.sum lines; `go get <pkg>` without a version would upgrade the target to latest.
  if ! (cd "$dir" && /usr/bin/time -v -o "$tfile" \
        go build -mod=mod -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out_dir/$out" "$pkg") >>"$log_file" 2>&1; then
    log "FAILED: go build $pkg (see $log_file)"
    return 1
  fi
  end="$(date +%s)"
  if [[ -n "$pin_module" ]] && ! go version -m "$out_dir/$out" | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+$pin_module[[:space:]]+$version([[:space:]]|$)"; then
    log "FAILED: $out is not built from $pin_module $version:"
    go version -m "$out_dir/$out" | grep -E "[[:space:]]$pin_module[[:space:]]" | tee -a "$log_file" >&2 || true
    return 1
  fi
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tfile")"
  rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")"
  printf '%s\t%s\t%s\t%s\t%s\n' "$out" "$version" "$((end - start))" "$wall" "$rss" >>"$out_dir/BUILD-STATS.tsv"
  rm -f "$tfile"
  log "built $out in $((end - start))s (go build wall $wall, peak RSS ${rss} KiB)"
}

kube_ldflags() {
  local v="$1" commit="${KUBE_GIT_COMMIT:-}" date major minor flags=""
  date="$(module_time k8s.io/kubernetes "$v")"
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    flags+=" -X $p.buildDate=$date"
    [[ -n "$commit" ]] && flags+=" -X $p.gitCommit=$commit"
  done
  echo "$flags"
}

if [[ -d "$entry" ]]; then
  echo "cached $entry"
  exit 0
fi

exec 9>"$cache_dir/.build.lock"
flock 9
if [[ -d "$entry" ]]; then  # another caller built it while we waited for the lock
  echo "cached $entry"
  exit 0
fi

tmp="$(mktemp -d "$cache_dir/bin/.tmp-$component-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
printf 'binary\tversion\tseconds\tgo_build_wall\tpeak_rss_kib\n' >"$tmp/BUILD-STATS.tsv"
log "=== $component $version (go $(go env GOVERSION), GOFLAGS=$GOFLAGS, CGO_ENABLED=$CGO_ENABLED)"
started="$(date +%s)"

pin_module=""  # the module whose version each built binary must record (checked with `go version -m`)
case "$component" in
  etcd)
    pin_module=go.etcd.io/etcd/server/v3
    dir="$(prepare_wrapper "etcd-$version" go.etcd.io/etcd/server/v3 "$version" "" "go.etcd.io/etcd/etcdctl/v3@$version")"
    build_pkg "$dir" "$tmp" etcd go.etcd.io/etcd/server/v3 "" ""
    pin_module=go.etcd.io/etcd/etcdctl/v3
    build_pkg "$dir" "$tmp" etcdctl go.etcd.io/etcd/etcdctl/v3 "" ""
    ;;
  kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy)
    staging="v0.${version#v1.}"
    pin_module=k8s.io/kubernetes
    dir="$(prepare_wrapper "kubernetes-$version" k8s.io/kubernetes "$version" "$staging")"
    build_pkg "$dir" "$tmp" "$component" "k8s.io/kubernetes/cmd/$component" "" "$(kube_ldflags "$version")"
    ;;
  containerd)
    pin_module=github.com/containerd/containerd
    dir="$(prepare_wrapper "containerd-$version" github.com/containerd/containerd "$version" "")"
    flags="-X github.com/containerd/containerd/version.Version=$version"
    flags+=" -X github.com/containerd/containerd/version.Package=github.com/containerd/containerd"
    for bin in containerd containerd-shim-runc-v2 ctr; do
      build_pkg "$dir" "$tmp" "$bin" "github.com/containerd/containerd/cmd/$bin" "urfave_cli_no_docs" "$flags"
    done
    ;;
  crictl)
    pin_module=sigs.k8s.io/cri-tools
    dir="$(prepare_wrapper "cri-tools-$version" sigs.k8s.io/cri-tools "$version" "")"
    build_pkg "$dir" "$tmp" crictl sigs.k8s.io/cri-tools/cmd/crictl "" \
      "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version"
    ;;
  crane)
    pin_module=github.com/google/go-containerregistry
    dir="$(prepare_wrapper "go-containerregistry-$version" github.com/google/go-containerregistry "$version" "")"
    build_pkg "$dir" "$tmp" crane github.com/google/go-containerregistry/cmd/crane "" \
      "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$version"
    ;;
  coredns)
    pin_module=github.com/coredns/coredns
    dir="$(prepare_wrapper "coredns-$version" github.com/coredns/coredns "$version" "")"
    build_pkg "$dir" "$tmp" coredns github.com/coredns/coredns "" ""
    ;;
  metrics-server)
    pin_module=sigs.k8s.io/metrics-server
    dir="$(prepare_wrapper "metrics-server-$version" sigs.k8s.io/metrics-server "$version" "")"
    date="$(module_time sigs.k8s.io/metrics-server "$version")"
    flags=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      flags+=" -X $p.gitVersion=$version -X $p.buildDate=$date -X $p.gitTreeState=clean"
    done
    build_pkg "$dir" "$tmp" metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "" "$flags"
    ;;
  traefik)
    pin_module=github.com/traefik/traefik/v3
    dir="$(prepare_wrapper "traefik-$version" github.com/traefik/traefik/v3 "$version" "")"
    date="$(module_time github.com/traefik/traefik/v3 "$version")"
    build_pkg "$dir" "$tmp" traefik github.com/traefik/traefik/v3/cmd/traefik "" \
      "-X github.com/traefik/traefik/v3/pkg/version.Version=$version -X github.com/traefik/traefik/v3/pkg/version.BuildDate=$date"
    ;;
  pause)
    dir="$work_root/pause-$version"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$here/pause/main.go" "$here/pause/go.mod" "$dir/"
    build_pkg "$dir" "$tmp" pause . "" "-X main.version=$version"
    ;;
  *) echo "unknown component: $component (try --list)" >&2; exit 2 ;;
esac

for f in "$tmp"/*; do
  if [[ "$(basename "$f")" == BUILD-STATS.tsv ]]; then chmod 0644 "$f"; else chmod 0755 "$f"; fi
done
chmod 0755 "$tmp"
seconds="$(( $(date +%s) - started ))"
mv -T "$tmp" "$entry"
trap - EXIT
printf '%s\t%s\t%s\t%s\n' "$component" "$version" "$entry" "$seconds" >>"$cache_dir/build-times.tsv"
log "=== $component $version landed in $entry after ${seconds}s"

if [[ -n "$install_dir" ]]; then
  mkdir -p "$install_dir"
  for f in "$entry"/*; do
    [[ "$(basename "$f")" == BUILD-STATS.tsv ]] && continue
    install -m 0755 "$f" "$install_dir/$(basename "$f")"
  done
fi
if [[ -n "$status_file" ]]; then
  for f in "$entry"/*; do
    [[ "$(basename "$f")" == BUILD-STATS.tsv ]] && continue
    printf '%s %s %s %s\n' "$(basename "$f")" "$version" "$f" "$seconds" >>"$status_file"
  done
fi
echo "built $entry"
