#!/usr/bin/env bash
# The checks Galaxy and ansible-test run on a collection, on the tarball `ansible-galaxy collection build` makes:
#   scripts/collection-checks/run.sh
# 1. Galaxy's importer (galaxy-importer, ansible-lint on): passes only with 0 errors and 0 warnings.
# 2. `ansible-test sanity` on the tarball installed into an empty collections path.
# Both offline: PyPI is the only index they reach.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$root/.venv/bin/ansible-galaxy" collection build --output-path "$work" "$root" >/dev/null
tarball=$(echo "$work"/cloudnative-httpserver-*.tar.gz)
echo "== built $(basename "$tarball") ($(tar tzf "$tarball" | wc -l) entries)"

echo "== galaxy-importer"
# A HOME of its own: the importer's ansible-lint installs the collection under ~/.ansible/collections, where
# the project's own lint and playbooks would later find that copy instead of this checkout.
mkdir -p "$work/home"
(cd "$work" && HOME="$work/home" PATH="$root/.venv/bin:$PATH" GALAXY_IMPORTER_CONFIG="$here/galaxy-importer.cfg" \
  timeout 900 "$root/.venv/bin/python" -m galaxy_importer.main "$tarball") >"$work/importer.log" 2>&1 || {
  cat "$work/importer.log"; echo "galaxy-importer failed"; exit 1; }
grep -v '^$' "$work/importer.log"
if grep -Eq '^(WARNING|ERROR)' "$work/importer.log"; then
  echo "galaxy-importer reported warnings or errors (above)"; exit 1
fi

echo "== ansible-test sanity"
# The installed layout, and nothing else on the collections path (not a copy another tool left in ~/.ansible).
ANSIBLE_COLLECTIONS_PATH="$work/collections" "$root/.venv/bin/ansible-galaxy" collection install --offline \
  "$tarball" -p "$work/collections" >/dev/null
# ansible-test fetches its pip bootstrap script from a host this machine cannot reach; it takes a cached copy.
mkdir -p "$HOME/.ansible/test/cache"
pip_version=$(grep -oP "pip='\K[0-9.]+" "$("$root/.venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
install -m 0644 "$here/get_pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
cd "$work/collections/ansible_collections/cloudnative/httpserver"
LC_ALL=C.UTF-8 timeout 1500 "$root/.venv/bin/ansible-test" sanity --python 3.11 --color no
