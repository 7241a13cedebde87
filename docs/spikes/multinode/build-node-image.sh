#!/usr/bin/env bash
# Builds the node image `spike/node:bookworm` offline:
#   1. debootstrap --variant=minbase bookworm + the node packages, from the host's Debian mirror
#      (rootfs tarball cached in ./cache/, keyed by the package list), `docker import` as spike/node-rootfs;
#   2. a tiny Dockerfile layer on top with the entrypoint and the supervisord/sshd config (fast to rebuild).
# FORCE=1 re-runs debootstrap. Prints the timings and the image size.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
# The Debian mirror apt uses on this host (deb822 `URIs:` or a one-line `deb URL suite`), unless DEBIAN_MIRROR.
mirror=${DEBIAN_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | awk '/^URIs:/ {print $2} $1 == "deb" {print $2}' | grep -v -- -security | head -n1)}
[ -n "$mirror" ] || { echo "no Debian mirror in apt's sources: set DEBIAN_MIRROR" >&2; exit 1; }
# What a node needs before Ansible touches it (sshd, supervisor, python3 for Ansible) plus what the
# container_runtime role would apt-install anyway (so converge does not spend minutes in apt on each node).
packages=openssh-server,supervisor,python3,sudo,iptables,conntrack,socat,ethtool,ebtables,ca-certificates,kmod,procps,iproute2,containernetworking-plugins,runc,iputils-ping,curl,less
key=$(echo "$suite $packages" | sha256sum | cut -c1-12)
cache="$here/cache"; tarball="$cache/node-rootfs-$suite-$key.tar"
mkdir -p "$cache"
t0=$(date +%s)
if [ "${FORCE:-0}" = 1 ] || [ ! -s "$tarball" ]; then
  work=$(mktemp -d "$cache/rootfs.XXXXXX"); trap 'rm -rf "$work"' EXIT
  echo "debootstrap $suite from $mirror with $packages"
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  r="$work/rootfs"
  # apt inside the node uses the same mirror (+ security) as the host, so roles that apt-install work.
  cat >"$r/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian}/debian-security $suite-security main
EOF
  rm -f "$r"/etc/ssh/ssh_host_*     # host keys are generated per container at first boot (entrypoint)
  rm -rf "$r"/usr/share/{man,info,locale}/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
    "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log   # debootstrap leaves ~60 MB of .debs here
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  tar --numeric-owner -C "$r" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  echo "rootfs tarball $(du -h "$tarball" | cut -f1), debootstrap took $(( $(date +%s) - t0 )) s"
fi
t1=$(date +%s)
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --message "debootstrap minbase $suite + node packages (spike)" "$tarball" spike/node-rootfs:$suite >/dev/null
docker build -q -t spike/node:$suite -f "$here/node/Dockerfile" "$here/node" >/dev/null
echo "import+layer took $(( $(date +%s) - t1 )) s; total $(( $(date +%s) - t0 )) s"
docker image inspect spike/node:$suite --format 'spike/node:bookworm {{.Size}} bytes' | awk '{printf "%s %.0f MB\n", $1, $2/1e6}'
