#!/usr/bin/env bash
# Build cluster components from the Go module proxy into the binary cache.
#
#   build.sh [--cache-dir DIR] [--install-dir DIR] [--status-file FILE] COMPONENT[@VERSION]...
#   build.sh --list | --list-tests
#
# --list names the cluster's components (what build-all.sh builds by default); --list-tests the conformance
# suite's, built only on request: e2e.test (`go test -c` of k8s.io/kubernetes/test/e2e in the Kubernetes wrapper
# module, version-stamped like the commands), ginkgo (the runner at the version Kubernetes' go.mod requires), and
# the Go programs of its test images: agnhost, nonewprivs (nnp) and sample-apiserver (k8s.io/sample-apiserver).
# The components of one call must come from one Go module (say the six Kubernetes commands): they are built by
# one `go build`, which compiles their shared packages once and links the binaries side by side. build-all.sh
# runs the calls for several modules at once. Each component lands atomically in CACHE/bin/<component>-<version>/
# (built in a temporary directory, then renamed) with BUILD-STATS.tsv (wall seconds and peak RSS of each
# `go build`). A component already there prints "cached" and is left alone; a new one prints "built". Two
# callers of the same module wait for each other on a lock instead of racing.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache_dir="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}"
install_dir=""
status_file=""

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit "${1:-2}"; }

# In the order the cluster needs them (the control plane helpers wait for etcd, kube-apiserver and kubectl).
components=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy
            containerd crictl crane coredns metrics-server traefik pause flanneld flannel-cni
            kube-router)
# The conformance suite's: not in --list, so build-all.sh and the role leave them out unless named.
test_components=(e2e.test ginkgo agnhost nonewprivs sample-apiserver)

default_version() {
  case "$1" in
    etcd) echo "$ETCD_VERSION" ;;
    kube-router) echo "$KUBE_ROUTER_VERSION" ;;
    kube-*|kubectl|kubelet|e2e.test|agnhost|nonewprivs|sample-apiserver) echo "$KUBERNETES_VERSION" ;;
    containerd) echo "$CONTAINERD_VERSION" ;;
    crictl) echo "$CRICTL_VERSION" ;;
    crane) echo "$CRANE_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    metrics-server) echo "$METRICS_SERVER_VERSION" ;;
    traefik) echo "$TRAEFIK_VERSION" ;;
    pause) echo "$PAUSE_VERSION" ;;
    flanneld) echo "$FLANNEL_VERSION" ;;
    flannel-cni) echo "$FLANNEL_CNI_VERSION" ;;
    ginkgo) echo "$GINKGO_VERSION" ;;
    *) echo "unknown component: $1" >&2; return 1 ;;
  esac
}

# The Go module a component is built from: components that share one are built together.
module_of() {
  case "$1" in
    kube-router) echo "$1" ;;
    kube-*|kubectl|kubelet|e2e.test|agnhost|nonewprivs|sample-apiserver) echo kubernetes ;;
    *) echo "$1" ;;
  esac
}

# The binaries a component installs.
binaries_of() {
  case "$1" in
    etcd) echo etcd etcdctl ;;
    containerd) echo containerd containerd-shim-runc-v2 ctr ;;
    flannel-cni) echo flannel ;;
    nonewprivs) echo nnp ;;
    *) echo "$1" ;;
  esac
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --cache-dir) cache_dir="$2"; shift 2 ;;
    --install-dir) install_dir="$2"; shift 2 ;;
    --status-file) status_file="$2"; shift 2 ;;
    --list) for c in "${components[@]}"; do echo "$c $(default_version "$c")"; done; exit 0 ;;
    --list-tests) for c in "${test_components[@]}"; do echo "$c $(default_version "$c")"; done; exit 0 ;;
    -h|--help) usage 0 ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || usage

module="" version=""
wanted=()
for arg in "$@"; do
  component="${arg%%@*}"
  [[ " ${components[*]} ${test_components[*]} " == *" $component "* ]] \
    || { echo "unknown component: $component (try --list)" >&2; exit 2; }
  v="$(default_version "$component")"
  [[ "$arg" == *@* ]] && v="${arg#*@}"
  if [[ -z "$module" ]]; then
    module="$(module_of "$component")" version="$v"
  elif [[ "$(module_of "$component")" != "$module" || "$v" != "$version" ]]; then
    echo "one call builds one module at one version: $arg does not go with $module $version (use build-all.sh)" >&2
    exit 2
  fi
  wanted+=("$component")
done

log_dir="$cache_dir/build-logs"
work_root="$cache_dir/work"
mkdir -p "$cache_dir/bin" "$log_dir" "$work_root"
log_file="$log_dir/$module-$version.log"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
[[ "$GOFLAGS" == *-buildvcs=false* ]] || export GOFLAGS="$GOFLAGS -buildvcs=false"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$log_file" >&2; }

# The wanted components that have no cache entry yet.
missing() {
  local c
  for c in "${wanted[@]}"; do
    if [[ -d "$cache_dir/bin/$c-$version" ]]; then echo "cached $cache_dir/bin/$c-$version" >&2; else echo "$c"; fi
  done
}

# module_path <GoMod|Dir> <module@version>: where the module cache holds that version's go.mod or source tree.
module_path() {
  go mod download -json "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# Print "<Time>" (RFC 3339) of a module version from the proxy's .info, used as a reproducible build date.
module_time() {
  go list -m -json "$1@$2" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Time", ""))'
}

# Create (once) a wrapper module in $work_root/<name> that requires $target@$version, copies the target's own
# versioned `replace` and `exclude` lines (they only act in the main module), and maps its local-path replaces
# (staging modules) to "<same path>@$local_version" when $local_version is given. Prints the wrapper directory.
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
    gomod="$(module_path GoMod "$target@$tversion")"
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

# A version "<upstream>-cloudnative.<n>" is the upstream module with this project's patches applied: the files
# patches/<component>-<version>/*.patch, in name order, each a unified diff against the module's root.
upstream_version() { echo "${1%-cloudnative.*}"; }

# patch_module <wrapper dir> <module> <upstream version> <patch dir>: copies the module's source into the wrapper,
# applies the patches, points the wrapper at the copy and runs the tests of every package a patch touches.
patch_module() {
  local dir="$1" target="$2" uversion="$3" patch_dir="$4" src p
  local -a pkgs=()
  [[ -f "$dir/.patched" ]] && return 0
  compgen -G "$patch_dir/*.patch" >/dev/null || { log "FAILED: $version names local patches, $patch_dir has none"; return 1; }
  src="$(cd "$dir" && module_path Dir "$target@$uversion")"
  rm -rf "$dir/patched"
  cp -r "$src" "$dir/patched"
  chmod -R u+w "$dir/patched"
  for p in "$patch_dir"/*.patch; do
    log "patch $target $uversion: ${p##*/}"
    (cd "$dir/patched" && git apply -p1 "$p") >>"$log_file" 2>&1 || { log "FAILED: ${p##*/} does not apply"; return 1; }
    mapfile -t -O "${#pkgs[@]}" pkgs < <(sed -n 's|^+++ b/\(.*\)/[^/]*$|\1|p' "$p")
  done
  (cd "$dir" && go mod edit -replace="$target=./patched")
  # A testdata directory is no package (Go ignores it): a patch to a test's data runs the tests beside it.
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]/#/$target/}" | sed 's|/testdata\(/.*\)\{0,1\}$||' | sort -u)
  log "go test ${pkgs[*]}"
  # The build's compile flags: the packages compiled for the tests are then the build's own (from the cache).
  (cd "$dir" && go test "${compile_flags[@]}" -count=1 "${pkgs[@]}") >>"$log_file" 2>&1 || { log "FAILED: go test of the patched packages"; return 1; }
  touch "$dir/.patched"
}

# patched_wrapper <target module>: sets dir to the wrapper of $module $version and pin_module/pin_version to what
# its binaries must record; a "-cloudnative.<n>" version is upstream's with this project's patches (patch_module).
patched_wrapper() {
  pin_module="$1" pin_version="$(upstream_version "$version")"
  dir="$(prepare_wrapper "$module-$version" "$1" "$pin_version" "")"
  if [[ "$version" != "$pin_version" ]]; then
    patch_module "$dir" "$1" "$pin_version" "$here/patches/$module-$version"
  fi
}

# build_pkgs <workdir> <tags> <ldflags> <package>...: one `go build` of main packages into $out, each binary
# named after its package's last path element; checks that each records $pin_module at $version. A single
# NAME=PACKAGE names its binary itself (etcd's packages end in /v3). With go_verb="test -c" (and one
# NAME=PACKAGE) it compiles that package's test binary instead, with the same flags.
go_verb=(build)
# -mod=mod only adds missing go.sum lines; `go get <pkg>` without a version would upgrade the target to latest.
# -dwarf=false: the compiler writes no debug info that the linker's -w would throw away (7 % faster builds;
# stack traces keep their function names and lines, which come from the pclntab).
compile_flags=(-mod=mod -trimpath -gcflags=all=-dwarf=false)
build_pkgs() {
  local dir="$1" tags="$2" ldflags="$3"
  shift 3
  local names=("${@##*/}") dest="$out/" tfile="$tmp/.time"
  if [[ $# -eq 1 && "$1" == *=* ]]; then
    names=("${1%%=*}") dest="$out/${1%%=*}"
    set -- "${1#*=}"
  fi
  log "go ${go_verb[*]} ${names[*]}"
  local start end
  start="$(date +%s)"
  if ! (cd "$dir" && /usr/bin/time -v -o "$tfile" \
        go "${go_verb[@]}" "${compile_flags[@]}" -tags "$tags" -ldflags "-s -w $ldflags" \
          -o "$dest" "$@") >>"$log_file" 2>&1; then
    log "FAILED: go ${go_verb[*]} $* (see $log_file)"
    return 1
  fi
  end="$(date +%s)"
  local name
  for name in "${names[@]}"; do
    if [[ -n "$pin_module" ]] && ! go version -m "$out/$name" | grep -Eq "^[[:space:]]+(mod|dep|=>)[[:space:]]+${pin_module}[[:space:]]+${pin_version:-$version}([[:space:]]|$)"; then
      log "FAILED: $name is not built from $pin_module ${pin_version:-$version}:"
      go version -m "$out/$name" | grep -E "[[:space:]]${pin_module}[[:space:]]" | tee -a "$log_file" >&2 || true
      return 1
    fi
  done
  local wall rss joined
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tfile")"
  rss="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")"
  joined="$(IFS=+; echo "${names[*]}")"
  printf '%s\t%s\t%s\t%s\t%s\n' "$joined" "$version" "$((end - start))" "$wall" "$rss" >>"$tmp/BUILD-STATS.tsv"
  rm -f "$tfile"
  log "built $joined in $((end - start))s (go build wall $wall, peak RSS ${rss} KiB)"
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

mapfile -t todo < <(missing)
[[ ${#todo[@]} -gt 0 ]] || exit 0

exec 9>"$cache_dir/.build-$module-$version.lock"
flock 9
mapfile -t todo < <(missing 2>/dev/null)  # another caller may have built some while we waited for the lock
[[ ${#todo[@]} -gt 0 ]] || exit 0

tmp="$(mktemp -d "$cache_dir/bin/.tmp-$module-$version.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
mkdir -p "$out"
printf 'binaries\tversion\tseconds\tgo_build_wall\tpeak_rss_kib\n' >"$tmp/BUILD-STATS.tsv"
log "=== $module $version: ${todo[*]} (go $(go env GOVERSION), GOFLAGS=$GOFLAGS, CGO_ENABLED=$CGO_ENABLED)"
started="$(date +%s)"

pin_module=""  # the module whose version each built binary must record (checked with `go version -m`)
case "$module" in
  etcd)
    dir="$(prepare_wrapper "etcd-$version" go.etcd.io/etcd/server/v3 "$version" "" "go.etcd.io/etcd/etcdctl/v3@$version")"
    pin_module=go.etcd.io/etcd/server/v3
    build_pkgs "$dir" "" "" etcd=go.etcd.io/etcd/server/v3
    pin_module=go.etcd.io/etcd/etcdctl/v3
    build_pkgs "$dir" "" "" etcdctl=go.etcd.io/etcd/etcdctl/v3
    ;;
  kubernetes)
    pin_module=k8s.io/kubernetes
    dir="$(prepare_wrapper "kubernetes-$version" k8s.io/kubernetes "$version" "v0.${version#v1.}")"
    commands=() e2e="" tools=()
    for c in "${todo[@]}"; do
      case "$c" in
        e2e.test) e2e=1 ;;
        agnhost|nonewprivs|sample-apiserver) tools+=("$c") ;;
        *) commands+=("$c") ;;
      esac
    done
    if [[ ${#commands[@]} -gt 0 ]]; then
      build_pkgs "$dir" "" "$(kube_ldflags "$version")" "${commands[@]/#/k8s.io/kubernetes/cmd/}"
    fi
    if [[ -n "$e2e" ]]; then
      # The conformance suite: the test binary of k8s.io/kubernetes/test/e2e (its testdata and manifests are
      # embedded), from the same wrapper, so it links the same staging modules the cluster runs.
      go_verb=(test -c)
      build_pkgs "$dir" "" "$(kube_ldflags "$version")" e2e.test=k8s.io/kubernetes/test/e2e
      go_verb=(build)
    fi
    # The test images' programs, as test/images/*/Makefile builds them (agnhost stamped with its VERSION file).
    for c in "${tools[@]}"; do
      case "$c" in
        agnhost)
          src="$(module_path Dir "k8s.io/kubernetes@$version")"
          build_pkgs "$dir" "" "-X main.Version=$(cat "$src/test/images/agnhost/VERSION")" \
            agnhost=k8s.io/kubernetes/test/images/agnhost
          ;;
        nonewprivs) build_pkgs "$dir" "" "" nnp=k8s.io/kubernetes/test/images/nonewprivs ;;
        sample-apiserver)
          # A staging module published as v0.<minor>.<patch>, built in a wrapper of its own: as a main package
          # in the Kubernetes wrapper, -mod=mod would add it to that go.mod and change the build info that
          # the commands record.
          pin_module=k8s.io/sample-apiserver pin_version="v0.${version#v1.}"
          sdir="$(prepare_wrapper "sample-apiserver-$pin_version" k8s.io/sample-apiserver "$pin_version" "")"
          build_pkgs "$sdir" "" "" sample-apiserver=k8s.io/sample-apiserver
          pin_module=k8s.io/kubernetes pin_version=""
          ;;
      esac
    done
    ;;
  containerd)
    pin_module=github.com/containerd/containerd
    dir="$(prepare_wrapper "containerd-$version" github.com/containerd/containerd "$version" "")"
    flags="-X github.com/containerd/containerd/version.Version=$version"
    flags+=" -X github.com/containerd/containerd/version.Package=github.com/containerd/containerd"
    build_pkgs "$dir" urfave_cli_no_docs "$flags" github.com/containerd/containerd/cmd/{containerd,containerd-shim-runc-v2,ctr}
    ;;
  crictl)
    pin_module=sigs.k8s.io/cri-tools
    dir="$(prepare_wrapper "cri-tools-$version" sigs.k8s.io/cri-tools "$version" "")"
    build_pkgs "$dir" "" "-X sigs.k8s.io/cri-tools/pkg/version.Version=$version" sigs.k8s.io/cri-tools/cmd/crictl
    ;;
  crane)
    pin_module=github.com/google/go-containerregistry
    dir="$(prepare_wrapper "go-containerregistry-$version" github.com/google/go-containerregistry "$version" "")"
    build_pkgs "$dir" "" "-X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$version" \
      github.com/google/go-containerregistry/cmd/crane
    ;;
  coredns)
    patched_wrapper github.com/coredns/coredns
    build_pkgs "$dir" "" "" github.com/coredns/coredns
    ;;
  metrics-server)
    pin_module=sigs.k8s.io/metrics-server
    dir="$(prepare_wrapper "metrics-server-$version" sigs.k8s.io/metrics-server "$version" "")"
    date="$(module_time sigs.k8s.io/metrics-server "$version")"
    flags=""
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      flags+=" -X $p.gitVersion=$version -X $p.buildDate=$date -X $p.gitTreeState=clean"
    done
    build_pkgs "$dir" "" "$flags" sigs.k8s.io/metrics-server/cmd/metrics-server
    ;;
  traefik)
    patched_wrapper github.com/traefik/traefik/v3
    date="$(module_time github.com/traefik/traefik/v3 "$pin_version")"
    build_pkgs "$dir" "" \
      "-X github.com/traefik/traefik/v3/pkg/version.Version=$version -X github.com/traefik/traefik/v3/pkg/version.BuildDate=$date" \
      github.com/traefik/traefik/v3/cmd/traefik
    ;;
  pause)
    dir="$work_root/pause-$version"
    rm -rf "$dir"
    mkdir -p "$dir/pause"
    cp "$here/pause/main.go" "$here/pause/go.mod" "$dir/pause/"
    build_pkgs "$dir/pause" "" "-X main.version=$version" cloudnative.local/pause
    ;;
  flanneld)
    # flannel's own main.go minus two backends: tencentvpc imports a module whose zip the proxy refuses (only its
    # .mod is served), and udp needs cgo. A wrapper module holding that main.go requires flannel at $version,
    # which pins every other import; `go mod tidy` then resolves only what this main.go imports.
    pin_module=github.com/flannel-io/flannel
    dir="$work_root/flannel-$version"
    if [[ ! -f "$dir/.ready" ]]; then
      rm -rf "$dir"
      mkdir -p "$dir"
      src="$(module_path Dir "github.com/flannel-io/flannel@$version")"
      grep -v -e 'flannel/pkg/backend/tencentvpc"' -e 'flannel/pkg/backend/udp"' "$src/main.go" >"$dir/main.go"
      (cd "$dir" && go mod init cloudnative.local/build/flanneld && go mod edit -require="github.com/flannel-io/flannel@$version" \
        && go mod tidy) >>"$log_file" 2>&1
      touch "$dir/.ready"
    fi
    build_pkgs "$dir" "" "-X github.com/flannel-io/flannel/pkg/version.Version=$version" flanneld=.
    ;;
  flannel-cni)
    # The flannel CNI plugin (reads flanneld's subnet.env, delegates to bridge and host-local): the last
    # containernetworking/plugins release that carries it; github.com/flannel-io/cni-plugin is not served.
    pin_module=github.com/containernetworking/plugins
    dir="$(prepare_wrapper "cni-plugins-$version" github.com/containernetworking/plugins "$version" "")"
    build_pkgs "$dir" "" "" flannel=github.com/containernetworking/plugins/plugins/meta/flannel
    ;;
  kube-router)
    # kube-router's NetworkPolicy controller (iptables and ipset). Its dependencies that carry published
    # vulnerabilities at the versions v2.1.0 pins are raised to releases that fix them (the same ones the
    # Kubernetes build uses where it has them); the controller's own code stays v2.1.0.
    pin_module=github.com/cloudnativelabs/kube-router/v2
    dir="$(prepare_wrapper "kube-router-$version" github.com/cloudnativelabs/kube-router/v2 "$version" "" \
      golang.org/x/net@v0.47.0 golang.org/x/crypto@v0.45.0 google.golang.org/protobuf@v1.36.8 \
      github.com/docker/docker@v25.0.13+incompatible)"
    date="$(module_time github.com/cloudnativelabs/kube-router/v2 "$version")"
    build_pkgs "$dir" "" \
      "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$version -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=$date" \
      github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
    ;;
  ginkgo)
    # The runner must match the suite's ginkgo library: refuse a default that drifted from Kubernetes' go.mod.
    kube_gomod="$(module_path GoMod "k8s.io/kubernetes@$KUBERNETES_VERSION")"
    wanted_ginkgo="$(go mod edit -json "$kube_gomod" | python3 -c '
import json, sys
print(next(r["Version"] for r in json.load(sys.stdin)["Require"] if r["Path"] == "github.com/onsi/ginkgo/v2"))')"
    if [[ "$version" != "$wanted_ginkgo" ]]; then
      log "note: k8s.io/kubernetes $KUBERNETES_VERSION requires ginkgo $wanted_ginkgo, building $version"
      [[ "$version" == "$GINKGO_VERSION" ]] && { log "FAILED: GINKGO_VERSION in versions.env is not $wanted_ginkgo"; exit 1; }
    fi
    pin_module=github.com/onsi/ginkgo/v2
    dir="$(prepare_wrapper "ginkgo-$version" github.com/onsi/ginkgo/v2 "$version" "")"
    build_pkgs "$dir" "" "" ginkgo=github.com/onsi/ginkgo/v2/ginkgo
    ;;
esac

seconds="$(( $(date +%s) - started ))"
for c in "${todo[@]}"; do
  entry_tmp="$tmp/$c"
  mkdir -p "$entry_tmp"
  for b in $(binaries_of "$c"); do
    install -m 0755 "$out/$b" "$entry_tmp/$b"
  done
  install -m 0644 "$tmp/BUILD-STATS.tsv" "$entry_tmp/BUILD-STATS.tsv"
  chmod 0755 "$entry_tmp"
  mv -T "$entry_tmp" "$cache_dir/bin/$c-$version"
  printf '%s\t%s\t%s\t%s\n' "$c" "$version" "$cache_dir/bin/$c-$version" "$seconds" >>"$cache_dir/build-times.tsv"
  if [[ -n "$install_dir" ]]; then
    mkdir -p "$install_dir"
    for b in $(binaries_of "$c"); do install -m 0755 "$out/$b" "$install_dir/$b"; done
  fi
  if [[ -n "$status_file" ]]; then
    for b in $(binaries_of "$c"); do
      printf '%s %s %s %s\n' "$b" "$version" "$cache_dir/bin/$c-$version/$b" "$seconds" >>"$status_file"
    done
  fi
  echo "built $cache_dir/bin/$c-$version"
done
log "=== $module $version: ${todo[*]} landed after ${seconds}s"
