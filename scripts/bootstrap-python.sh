#!/usr/bin/env bash
# Creates (or reuses) the project's Python environment: a venv under ~/.cache keyed by the hash of
# requirements.txt, linked as .venv in the checkout, so a fresh clone reuses what an earlier one built.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
key=$(sha256sum requirements.txt | cut -c1-12)
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cloudnative-httpserver/venv-$key"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
  echo "bootstrap: creating $venv"
  rm -rf "$venv"
  if ! python3 -c 'import ensurepip' 2>/dev/null; then
    # Debian splits venv support out of python3.
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r requirements.txt
  touch "$venv/.complete"
fi
# The app is installed editable from this checkout; CI clones elsewhere, so re-point it when needed.
if [ -f app/pyproject.toml ]; then
  where=$("$venv/bin/python" -c 'import httpserver; print(httpserver.__file__)' 2>/dev/null || true)
  case "$where" in
    "$root"/app/*) ;;
    *)
      log=$(mktemp)
      if ! "$venv/bin/pip" install --no-deps -e app >"$log" 2>&1; then
        cat "$log"; rm -f "$log"; exit 1
      fi
      rm -f "$log"
      echo "bootstrap: app installed editable from $root/app"
      ;;
  esac
fi
# Links are replaced only when they point elsewhere: `make test` runs `make lint` (and so this script) beside
# playbooks that read them.
link() { [ "$(readlink "$2")" = "$1" ] || ln -sfn "$1" "$2"; }
link "$venv" .venv
# This checkout is also the installed collection cloudnative.httpserver (ansible.cfg's collections_path), so the
# playbooks here find its plugins by their full names exactly as they do from the built tarball.
mkdir -p collections/ansible_collections/cloudnative
link ../../.. collections/ansible_collections/cloudnative/httpserver
echo "bootstrap: .venv -> $venv"
