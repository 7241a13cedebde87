#!/usr/bin/env bash
# Builds flanneld from the Go module proxy at a pinned version into ./bin/flanneld (static, CGO off).
# Only run when the project's own binary build is not running (2 cores). Uses the default Go caches.
# `go install github.com/flannel-io/flannel@v0.28.10` fails here: the proxy answers 403 for the zip of
# github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/vpc (its .mod is served), which only the tencentvpc
# backend imports. So: a wrapper module whose main.go is flannel's own main.go minus the tencentvpc and udp (cgo,
# deprecated) backends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${FLANNEL_VERSION:-v0.28.10}
export PATH=$PATH:/usr/local/go/bin CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
w="$here/build/flanneld"; rm -rf "$w"; mkdir -p "$w" "$here/bin"
t0=$(date +%s)
src=$(go mod download -json "github.com/flannel-io/flannel@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
grep -v -e 'flannel/pkg/backend/tencentvpc"' -e 'flannel/pkg/backend/udp"' "$src/main.go" >"$w/main.go"   # udp needs cgo
cd "$w"
go mod init spike.local/flanneld >/dev/null 2>&1
go mod edit -go=1.26.0 -require="github.com/flannel-io/flannel@$version"
go mod tidy >/dev/null
go build -trimpath -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$version" -o "$here/bin/flanneld" .
echo "flanneld $version built in $(( $(date +%s)-t0 )) s, $(du -h "$here/bin/flanneld" | cut -f1)"
"$here/bin/flanneld" --version
