#!/usr/bin/env bash
# Build, offline, the container images that the Kubernetes [Conformance] tests run, as image tarballs, and
# write the KUBE_TEST_REPO_LIST file that points e2e.test at them.
#
#   scripts/conformance/build-images.sh [--registry PREFIX]     (default registry.cloudnative:5000/conformance)
#
# No image can be pulled here, so each one is made by the role's make-image.py from:
#   - Go programs built from the Kubernetes wrapper module by build.sh (agnhost, nnp, sample-apiserver) and
#     the cluster's own etcd, pause and CoreDNS builds;
#   - one Debian bookworm rootfs made by debootstrap (bash, coreutils, curl, dig, nc, ip/ss, iperf, nginx...),
#     shared as the lowest layer of every image that needs a userland, so the registry stores it once;
#   - upstream BusyBox, compiled from its release tarball (Debian's pristine copy) for the busybox image.
# Each image gets the name and tag that test/utils/image/manifest.go of the cluster's Kubernetes version
# expects under PREFIX (e2e-test-images/, k8s/ ...). Output, under ~/.cache/cloudnative-httpserver/conformance/:
#   images/<name>-<tag>.tar   the tarballs
#   images.tsv                tarball<TAB>reference, one line per reference (push-images.sh reads it)
#   repo-list.yaml            for KUBE_TEST_REPO_LIST / --kube-test-repo-list
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gp="$root/roles/kube_binaries/files/build-from-goproxy"
# shellcheck source-path=SCRIPTDIR/../../roles/kube_binaries/files/build-from-goproxy source=versions.env
source "$gp/versions.env"

prefix="registry.cloudnative:5000/conformance"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --registry) prefix="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cache_dir="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}"
work="$cache_dir/conformance"
mkdir -p "$work/images"
say() { printf '%s build-images: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- Go programs -------------------------------------------------------------------------------------------
say "binaries (build.sh; cached ones are reused)"
bash "$gp/build.sh" agnhost nonewprivs sample-apiserver >&2
bash "$gp/build.sh" etcd >&2
bash "$gp/build.sh" pause >&2
bash "$gp/build.sh" coredns >&2
bin() { echo "$cache_dir/bin/$1-$2/$3"; }
agnhost="$(bin agnhost "$KUBERNETES_VERSION" agnhost)"
nnp="$(bin nonewprivs "$KUBERNETES_VERSION" nnp)"
sample_apiserver="$(bin sample-apiserver "$KUBERNETES_VERSION" sample-apiserver)"
etcd="$(bin etcd "$ETCD_VERSION" etcd)"
etcdctl="$(bin etcd "$ETCD_VERSION" etcdctl)"
pause="$(bin pause "$PAUSE_VERSION" pause)"
coredns="$(bin coredns "$COREDNS_VERSION" coredns)"
kube_src="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
manifest_go="$kube_src/test/utils/image/manifest.go"

# The tag manifest.go gives an image ID, e.g. tag_of Agnhost -> 2.59 (configs[Agnhost] = Config{..., "2.59"}).
tag_of() {
  local tag
  tag="$(sed -n "s/^[[:space:]]*configs\[$1\] = Config{[^,]*, \"[^\"]*\", \"\([^\"]*\)\"}.*/\1/p" "$manifest_go")"
  [[ -n "$tag" ]] || { echo "no tag for $1 in $manifest_go" >&2; return 1; }
  echo "$tag"
}

# --- Debian rootfs, the shared lowest layer ---------------------------------------------------------------
# What agnhost's Dockerfile adds to alpine (bind-tools, curl, netcat-openbsd, iproute2, iperf, bash), what the
# jessie-dnsutils image has (dig, getent), nginx for the nginx images, and procps/ping for the tests' probes.
packages="bash,ca-certificates,curl,netcat-openbsd,bind9-dnsutils,iproute2,iperf,iputils-ping,procps,hostname,nginx-light"
key="$(printf '%s\n' "$packages" "$(sed -n '/^rootfs_fixups() {/,/^}/p' "${BASH_SOURCE[0]}")" | sha256sum | cut -c1-12)"
rootfs_tar="$work/rootfs-bookworm-$key.tar"

# The first Debian (not -security) mirror apt uses: deb822 `URIs:` or one-line `deb [options] URL suite`.
apt_mirror() {
  local -a files
  mapfile -t files < <(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null)
  [[ ${#files[@]} -gt 0 ]] || return 0
  awk '/^URIs:/ {print $2} $1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' "${files[@]}" \
    | { grep -v -- '-security' || true; } | { grep -E '/debian/?$' || true; } | head -n1
}

# Changes to the debootstrapped tree (part of the cache key, so a change here rebuilds the rootfs).
rootfs_fixups() {
  local r="$1"
  find "$r/dev" -mindepth 1 -delete  # the runtime mounts /dev
  rm -rf "$r"/usr/share/{man,info,locale}/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/log/* \
    "$r"/tmp/* "$r"/var/cache/ldconfig/aux-cache
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  # agnhost: /uploads for netexec, iperf on /usr/local/bin, the user and group one SupplementalGroups test
  # expects in the image (uid 1000 in gid 50000).
  mkdir -p "$r/uploads"
  ln -sf /usr/bin/iperf "$r/usr/local/bin/iperf"
  echo "user-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh" >>"$r/etc/passwd"
  echo "user-defined-in-image:!:19000:0:99999:7:::" >>"$r/etc/shadow"
  echo "user-defined-in-image:x:1000:" >>"$r/etc/group"
  echo "group-defined-in-image:x:50000:user-defined-in-image" >>"$r/etc/group"
  # nginx as the upstream nginx image runs it: in the foreground, pages from /usr/share/nginx/html, logs
  # to the container's output.
  mkdir -p "$r/usr/share/nginx/html"
  printf '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n' \
    >"$r/usr/share/nginx/html/index.html"
  cat >"$r/etc/nginx/nginx.conf" <<'EOF'
user www-data;
worker_processes 1;
pid /run/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log /dev/stdout;
  sendfile on;
  server {
    listen 80 default_server;
    listen [::]:80 default_server;
    root /usr/share/nginx/html;
    index index.html index.htm;
  }
}
EOF
  rm -f "$r"/etc/nginx/sites-enabled/*
}

# A reproducible tar of a tree: sorted, times zeroed, owners numeric, no ./ prefix.
tar_tree() {
  local dir="$1" out="$2"
  local -a top
  mapfile -t top < <(cd "$dir" && ls -A)
  tar -C "$dir" --sort=name --mtime=@0 --numeric-owner --format=pax \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$out.tmp" -- "${top[@]}"
  mv "$out.tmp" "$out"
}

if [[ ! -s "$rootfs_tar" ]]; then
  mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  tmp="$(mktemp -d "$work/rootfs.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  say "debootstrap --variant=minbase bookworm from $mirror with $packages"
  debootstrap --variant=minbase --include="$packages" bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -n 30 "$tmp/debootstrap.log" >&2; exit 1; }
  rootfs_fixups "$tmp/rootfs"
  tar_tree "$tmp/rootfs" "$rootfs_tar"
  find "$work" -maxdepth 1 -name 'rootfs-bookworm-*.tar' ! -path "$rootfs_tar" -delete
  rm -rf "$tmp"
  trap - EXIT
fi
say "rootfs $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1))"

# --- busybox ----------------------------------------------------------------------------------------------
# Upstream BusyBox, as the docker library image that e2e-test-images/busybox is made from: Debian's own build
# patches ash to drop environment variables whose names are not shell identifiers, and the ConfigMap test "as
# environment variable names with various prefixes" reads such names (data-1) back through `sh -c env`. The
# source is Debian's pristine copy of the upstream release tarball (same SHA-256 as busybox.net's).
busybox_version=1.37.0
busybox_sha256=3311dff32e746499f4df0d5df04d7eb396382d7e108bb9250e7b519b837043a4
busybox="$work/busybox-$busybox_version/busybox"
if [[ ! -x "$busybox" ]]; then
  tmp="$(mktemp -d "$work/busybox.XXXXXX")"
  say "building busybox $busybox_version (defconfig, static, without tc, whose CBQ code newer kernel headers lack)"
  curl -fsS -o "$tmp/src.tar.bz2" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main/b/busybox/busybox_$busybox_version.orig.tar.bz2"
  echo "$busybox_sha256  $tmp/src.tar.bz2" | sha256sum -c --quiet
  tar -C "$tmp" -xjf "$tmp/src.tar.bz2"
  (
    cd "$tmp/busybox-$busybox_version"
    make defconfig
    sed -i 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/; s/^CONFIG_TC=y/# CONFIG_TC is not set/' .config
    make oldconfig </dev/null
    make -j2
  ) >"$tmp/build.log" 2>&1 || { tail -n 30 "$tmp/build.log" >&2; exit 1; }
  mkdir -p "${busybox%/*}"
  install -m 0755 "$tmp/busybox-$busybox_version/busybox" "$busybox"
  rm -rf "$tmp"
fi
busybox_links=()
while read -r applet; do
  [[ "$applet" == busybox ]] || busybox_links+=(--symlink "/bin/$applet:busybox")
done < <("$busybox" --list)

# --- images -----------------------------------------------------------------------------------------------
e2e="$prefix/e2e-test-images"
k8s="$prefix/k8s"
path_env=(--env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
list="$work/images.tsv.tmp"
: >"$list"

# image NAME TAG REFERENCE... -- make-image.py arguments: writes images/NAME-TAG.tar (unless its inputs are
# unchanged), named after the first reference, and records each reference for the push.
image() {
  local name="$1" tag="$2" refs=() args=()
  shift 2
  while [[ $# -gt 0 && "$1" != -- ]]; do refs+=("$1"); shift; done
  shift
  args=("$@")
  local out="$work/images/$name-$tag.tar"
  local stamp
  stamp="$(printf '%s\n' "${refs[0]}" "${args[@]}" | cat - <(for a in "${args[@]}"; do [[ -f "${a%%:*}" ]] && sha256sum "${a%%:*}"; done) \
    | sha256sum | cut -c1-16)"
  if [[ ! -s "$out" || "$(cat "$out.inputs" 2>/dev/null)" != "$stamp" ]]; then
    python3 "$gp/make-image.py" --ref "${refs[0]}" --arch amd64 --out "$out" "${args[@]}" >&2
    echo "$stamp" >"$out.inputs"
  else
    say "unchanged $out"
  fi
  local ref
  for ref in "${refs[@]}"; do printf '%s\t%s\n' "$out" "$ref" >>"$list"; done
}

agnhost_files=(--file "$agnhost:/agnhost" --file "$coredns:/coredns"
  --file "$kube_src/test/images/agnhost/porter/localhost.crt:/localhost.crt:0644"
  --file "$kube_src/test/images/agnhost/porter/localhost.key:/localhost.key:0644"
  --symlink /agnhost-2:agnhost --entrypoint /agnhost --user 0:0
  --port 80/tcp --port 8080/tcp --port 8081/tcp --port 9376/tcp --port 5000/tcp)

image agnhost "$(tag_of Agnhost)" "$e2e/agnhost:$(tag_of Agnhost)" "$e2e/agnhost:$(tag_of AgnhostPrev)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" "${agnhost_files[@]}" --cmd '["pause"]'
image nautilus "$(tag_of Nautilus)" "$e2e/nautilus:$(tag_of Nautilus)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" "${agnhost_files[@]}" --cmd '["test-webserver"]' \
  --file "$kube_src/test/images/nautilus/html/nautilus.jpg:/nautilus.jpg:0644" \
  --file "$kube_src/test/images/nautilus/html/data.json:/data.json:0644"
image jessie-dnsutils "$(tag_of JessieDnsutils)" "$e2e/jessie-dnsutils:$(tag_of JessieDnsutils)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" --file "$coredns:/coredns" --cmd '["/bin/bash"]' --user 0:0
image nginx "$(tag_of Nginx)" "$e2e/nginx:$(tag_of Nginx)" "$e2e/nginx:$(tag_of NginxNew)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" --cmd '["nginx", "-g", "daemon off;"]' --user 0:0 --port 80/tcp
image nonroot "$(tag_of NonRoot)" "$e2e/nonroot:$(tag_of NonRoot)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" --cmd '["/bin/sh"]' --user 1234
image nonewprivs "$(tag_of Nonewprivs)" "$e2e/nonewprivs:$(tag_of Nonewprivs)" -- \
  --base-layer "$rootfs_tar" "${path_env[@]}" --file "$nnp:/usr/local/bin/nnp:04755" --cmd '["nnp"]' --user 0:0
image busybox "$(tag_of BusyBox)" "$e2e/busybox:$(tag_of BusyBox)" -- \
  --file "$busybox:/bin/busybox" "${busybox_links[@]}" --cmd '["sh"]' --user 0:0 \
  --env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
image sample-apiserver "$(tag_of APIServer)" "$e2e/sample-apiserver:$(tag_of APIServer)" -- \
  --file "$sample_apiserver:/sample-apiserver" --entrypoint /sample-apiserver --user 0:0
image etcd "$(tag_of Etcd)" "$k8s/etcd:$(tag_of Etcd)" -- \
  --file "$etcd:/usr/local/bin/etcd" --file "$etcdctl:/usr/local/bin/etcdctl" --cmd '["/usr/local/bin/etcd"]' --user 0:0
image pause "$(tag_of Pause)" "$k8s/pause:$(tag_of Pause)" -- \
  --file "$pause:/pause" --entrypoint /pause --user 65535:65535

mv "$list" "$work/images.tsv"

# Registries of manifest.go mapped under the prefix; the private and the invalid registry stay as they are
# (their tests need the internet or expect a failed pull).
cat >"$work/repo-list.yaml" <<EOF
promoterE2eRegistry: $e2e
buildImageRegistry: $prefix/build-image
gcEtcdRegistry: $k8s
gcRegistry: $k8s
sigStorageRegistry: $prefix/sig-storage
dockerLibraryRegistry: $prefix/library
cloudProviderGcpRegistry: $prefix/cloud-provider-gcp
EOF
say "wrote $work/images.tsv ($(wc -l <"$work/images.tsv") references) and $work/repo-list.yaml"
