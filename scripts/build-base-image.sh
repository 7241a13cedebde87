#!/usr/bin/env bash
# Builds the local base image `cloudnative/python-base:bookworm` (Debian bookworm minbase + python3) with
# debootstrap and `docker import`, because no image can be pulled here. The stripped rootfs tarball is cached
# under ~/.cache/cloudnative-httpserver/base/, keyed by this script's hash, so it is built once.
# No-op when the image already exists (FORCE=1 rebuilds the image from the cached tarball).
# Env: BASE_IMAGE (tag), DEBIAN_MIRROR (default: the mirror apt is configured with), SUITE (bookworm).
set -euo pipefail

image=${BASE_IMAGE:-cloudnative/python-base:bookworm}
suite=${SUITE:-bookworm}
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/cloudnative-httpserver/base"
script_hash=$(sha256sum "$0" | cut -c1-12)
tarball="$cache_dir/python-base-$suite-$script_hash.tar"

say() { echo "build-base-image: $*"; }

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
  say "$image already exists; nothing to do"
  exit 0
fi

runtime_unneeded=(apt libapt-pkg6.0 gpgv debian-archive-keyring e2fsprogs libext2fs2 libss2 logsave
  util-linux libsmartcols1 mount libblkid1 libmount1 login passwd libpam-modules libpam-modules-bin
  libpam-runtime libpam0g libsemanage2 libsemanage-common libsepol2 libgnutls30 libp11-kit0 libtasn1-6
  libnettle8 libhogweed6 libunistring2 libidn2-0 libsystemd0 libudev1 libgcrypt20 libgpg-error0 liblz4-1
  libstdc++6 libaudit1 libaudit-common libcap-ng0 libtirpc3 libtirpc-common libnsl2 libgssapi-krb5-2
  libkrb5-3 libk5crypto3 libkrb5support0 libkeyutils1 libcom-err2 libdb5.3 libsqlite3-0 libreadline8
  readline-common libncursesw6 ncurses-bin sensible-utils hostname tzdata)
runtime_unneeded_last=(adduser debconf perl-base)
# The stdlib modules Tornado, prometheus_client, PyYAML and the app import; checked after the purge.
stdlib_check="import asyncio, ssl, json, uuid, logging, decimal, http.client, email.utils, zlib, hashlib, \
socket, select, signal, secrets, urllib.parse, ctypes, concurrent.futures, multiprocessing, venv"

apt_mirror() {
  # First Debian (not -security) mirror of the suite that apt uses: deb822 `URIs:` or one-line `deb URL suite`.
  local files
  files=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  # shellcheck disable=SC2086
  {
    awk '/^URIs:/ {print $2}' $files 2>/dev/null
    awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}' $files 2>/dev/null
  } | grep -v -- '-security' | grep -E '/debian/?$' | head -n1
}

if [ ! -s "$tarball" ]; then
  mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
  mirror=${mirror:-http://deb.debian.org/debian}
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >/dev/null
  fi
  mkdir -p "$cache_dir"
  work=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  rootfs="$work/rootfs"
  say "debootstrap --variant=minbase $suite from $mirror (takes a few minutes)"
  debootstrap --variant=minbase --include=python3 "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

  # A runtime image needs neither a package manager nor logins, PAM, Kerberos, perl or the disk tools.
  # Removed with dpkg (so its database stays true); debconf and perl go last, others' scripts use them.
  say "removing packages a Python service never uses"
  dpkg --root="$rootfs" --force-remove-essential --force-depends --purge "${runtime_unneeded[@]}" \
    >"$work/purge.log" 2>&1 || { tail -n 30 "$work/purge.log" >&2; exit 1; }
  dpkg --root="$rootfs" --force-remove-essential --force-depends --purge "${runtime_unneeded_last[@]}" \
    >>"$work/purge.log" 2>&1 || { tail -n 30 "$work/purge.log" >&2; exit 1; }
  chroot "$rootfs" /usr/bin/python3 -c "$stdlib_check" \
    || { echo "build-base-image: python3 is broken after the purge" >&2; exit 1; }

  say "stripping docs, locales, apt lists and caches"
  # Keep each package's copyright file; drop the rest of the documentation.
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs"/usr/share/{man,info,lintian,linda,locale}/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/var/cache/ldconfig/aux-cache "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
  # Parts of Python's stdlib a web service never imports (GUI, 2to3, the bundled pip/setuptools wheels).
  rm -rf "$rootfs"/usr/lib/python3.11/{idlelib,lib2to3,turtledemo,tkinter,pydoc_data,test} \
    "$rootfs"/usr/share/python-wheels
  # glibc's iconv modules: Python has its own codecs.
  rm -rf "$rootfs"/usr/lib/x86_64-linux-gnu/gconv
  echo "$mirror $suite" >"$rootfs/etc/cloudnative-base-mirror"
  tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  # Rootfs tarballs of earlier versions of this script are stale now.
  find "$cache_dir" -maxdepth 1 -name "python-base-$suite-*.tar" ! -path "$tarball" -delete
  say "cached rootfs $tarball ($(du -h "$tarball" | cut -f1))"
else
  say "reusing cached rootfs $tarball"
fi

say "docker import as $image"
docker import \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/usr/bin/python3"]' \
  --message "debootstrap minbase $suite + python3 (scripts/build-base-image.sh)" \
  "$tarball" "$image" >/dev/null
say "$image: $(docker image inspect "$image" --format '{{.Size}}' | awk '{printf "%.1f MB", $1/1e6}')"
