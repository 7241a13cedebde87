#!/usr/bin/env bash
# Time a cold build of the cluster's binaries (or the components named) from the Go module proxy, as a fresh
# machine does it: empty Go module, build and binary caches in a scratch directory under /var/tmp (the real caches
# are not touched), build-all.sh under /usr/bin/time. Writes a JSON results file: wall, CPU and peak memory of
# the whole build, and each `go build`'s seconds and peak memory from the builds' BUILD-STATS.tsv.
#
#   bench/build/cold_build.sh [--jobs N] [--ref GIT_REF] [--out FILE] [COMPONENT[@VERSION]...]
#
# --ref builds with the build scripts and patches of that commit instead of the working tree's, so two versions
# of the recipe are compared on the same machine in the same session (say --ref HEAD~1, then without it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
recipe=roles/kube_binaries/files/build-from-goproxy
jobs=2 ref="" out=""
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --jobs) jobs="$2" ;;
    --ref) ref="$2" ;;
    --out) out="$2" ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift 2
done
out="${out:-$root/bench/results/build-cold-$(date -u +%Y-%m-%dT%H%M)${ref:+-$ref}.json}"

scratch="$(mktemp -d /var/tmp/cloudnative-cold-build.XXXXXX)"
# Go writes its module cache read-only: make it removable first.
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
scripts="$root/$recipe"
if [[ -n "$ref" ]]; then
  mkdir -p "$scratch/recipe"
  git -C "$root" archive "$ref" "$recipe" | tar -x -C "$scratch/recipe"
  scripts="$scratch/recipe/$recipe"
fi
load="$(cut -d' ' -f1-3 /proc/loadavg)"
started="$(date -u '+%Y-%m-%d %H:%M UTC')"
rc=0
GOCACHE="$scratch/go-build" GOMODCACHE="$scratch/go-mod" GOFLAGS=-modcacherw \
  /usr/bin/time -v -o "$scratch/time.txt" \
  "$scripts/build-all.sh" --jobs "$jobs" --cache-dir "$scratch/cache" "$@" >"$scratch/build.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || { tail -20 "$scratch/build.log" >&2; echo "build failed (rc $rc)" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
STARTED="$started" LOAD="$load" REF="${ref:-working tree}" JOBS="$jobs" ARGS="$*" GO="$(go env GOVERSION)" \
  python3 - "$scratch" "$out" <<'EOF'
import glob, json, os, re, sys
scratch, out = sys.argv[1:]
time = dict(re.findall(r"^\s*(.+?): (.+)$", open(f"{scratch}/time.txt").read(), re.M))
wall = time["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
builds = {}
for stats in glob.glob(f"{scratch}/cache/bin/*/BUILD-STATS.tsv"):
    for line in open(stats).read().splitlines()[1:]:
        name, version, seconds, _, rss = line.split("\t")
        builds[name] = {"binaries": name, "version": version, "seconds": int(seconds), "peak_rss_kib": int(rss)}
result = {
    "date": os.environ["STARTED"],
    "command": " ".join(["bench/build/cold_build.sh", "--jobs", os.environ["JOBS"]]
                        + (["--ref", os.environ["REF"]] if os.environ["REF"] != "working tree" else [])
                        + os.environ["ARGS"].split()),
    "recipe": os.environ["REF"],
    "go": os.environ["GO"],
    "machine": f"{os.cpu_count()} cores, load average before {os.environ['LOAD']}",
    "wall_s": round(sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall)))),
    "cpu_s": round(float(time["User time (seconds)"]) + float(time["System time (seconds)"])),
    "peak_rss_gib_largest_process": round(int(time["Maximum resident set size (kbytes)"]) / 2**20, 2),
    "go_builds": sorted(builds.values(), key=lambda b: -b["seconds"]),
}
json.dump(result, open(out, "w"), indent=1)
print(json.dumps({k: v for k, v in result.items() if k != "go_builds"}))
EOF
