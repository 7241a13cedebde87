#!/usr/bin/env bash
# Builds the test-host node image offline, as the app's base image is built:
#   1. debootstrap --variant=minbase bookworm with the node packages, from a Debian mirror (the rootfs tarball is
#      cached under CACHE, keyed by suite and package list) and `docker import` as cloudnative/test-node-rootfs;
#   2. a thin Dockerfile layer with the entrypoint (kind's fixes for kubelet and containerd in a container) and
#      supervisord running sshd.
#
#   build-node-image.sh [--force]       --force re-runs debootstrap
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), CLOUDNATIVE_CACHE_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
image="cloudnative/test-node:$suite"
rootfs_image="cloudnative/test-node-rootfs:$suite"
cache="${CLOUDNATIVE_CACHE_DIR:-$HOME/.cache/cloudnative-httpserver}/test-hosts"
# What a host has before Ansible reaches it (sshd, supervisor, python3, sudo), plus the Debian packages the
# roles would apt-install anyway (container_runtime's netfilter tools, CNI plugins and runc; the api_proxy role's
# haproxy), so a converge does not spend minutes in apt on every node. The roles still check for them.
# python3-apt, as on a standard Debian install: Ansible's apt module imports it (and cannot install it and
# respawn itself under the Mitogen strategy that ansible.cfg gives cluster.yml).
packages=openssh-server,supervisor,python3,python3-apt,sudo,iptables,ipset,conntrack,socat,ethtool,ebtables,ca-certificates,nftables,kmod,procps,iproute2,containernetworking-plugins,runc,haproxy,iputils-ping,curl,less,openssl
force=false
[[ "${1:-}" == --force ]] && force=true

key="$(echo "$suite $mirror $packages" | sha256sum | cut -c1-12)"
tarball="$cache/node-rootfs-$suite-$key.tar"
# The image carries the hash of its package list and layer files: a current one is kept, a stale one rebuilt.
image_key="$(cat "$here"/node/* | sha256sum | cut -c1-12)-$key"
if ! $force && [[ "$(docker image inspect "$image" --format '{{ index .Config.Labels "cloudnative.node-key" }}' 2>/dev/null)" == "$image_key" ]]; then
  echo "$image is current ($image_key)"
  exit 0
fi
mkdir -p "$cache"
t0=$(date +%s)
if $force || [[ ! -s "$tarball" ]]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
  work="$(mktemp -d "$cache/rootfs.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  echo "debootstrap $suite from $mirror"
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  r="$work/rootfs"
  # apt inside a node uses the same mirror, so roles that apt-install work there.
  cat >"$r/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
  rm -f "$r"/etc/ssh/ssh_host_*   # host keys are made per container at its first start (entrypoint)
  rm -rf "$r"/usr/share/{man,info,locale}/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
    "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  : >"$r/etc/machine-id"          # one per container (entrypoint)
  tar --numeric-owner -C "$r" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  echo "rootfs tarball $(du -h "$tarball" | cut -f1) after $(($(date +%s) - t0)) s"
fi
t1=$(date +%s)
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "debootstrap minbase $suite + node packages ($key)" "$tarball" "$rootfs_image" >/dev/null
docker build -q --build-arg "ROOTFS=$rootfs_image" --label "cloudnative.node-key=$image_key" -t "$image" "$here/node" >/dev/null
echo "$image: import and layer $(($(date +%s) - t1)) s, total $(($(date +%s) - t0)) s," \
  "$(docker image inspect "$image" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}')"
