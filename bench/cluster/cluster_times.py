"""Time cluster.yml on this machine's single node: a no-op rerun (several runs, median), then a teardown and a
bring-up from the cleared node with the binaries cached, each against its target, into one results file.

    .venv/bin/python bench/cluster/cluster_times.py [--runs 5] [--out bench/results/cluster-times.json]

It tears the cluster down and brings it back: the deployments are gone afterwards (rerun make deploy).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
LOGS = REPO / "bench/results/tmp/cluster"


def playbook(name: str, log: str) -> dict:
    LOGS.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "ansible-playbook"), f"playbooks/{name}.yml", "-i", "inventories/dev"]
    start = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - start
    (LOGS / f"{log}.log").write_text(
        f"$ {' '.join(command)}\n# rc={proc.returncode}\n{proc.stdout}{proc.stderr}"
    )
    if proc.returncode != 0:
        raise SystemExit(f"{log}: {name}.yml failed, see {LOGS}/{log}.log:\n{proc.stdout[-3000:]}")
    recap = re.findall(r"(localhost\s+:\s+ok=\d+\s+changed=\d+)", proc.stdout)
    print(f"  {log}: {seconds:.1f}s {recap[-1] if recap else ''}", flush=True)
    return {"seconds": round(seconds, 1), "recap": re.sub(r"\s+", " ", recap[-1]) if recap else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "bench/results/cluster-times.json"))
    args = parser.parse_args()
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "bench/cluster/cluster_times.py",
        "machine": f"{os.cpu_count()} cores, load average before {os.getloadavg()[0]:.2f}",
    }
    print("cluster.yml, settle first:", flush=True)
    playbook("cluster", "settle")
    noops = [playbook("cluster", f"noop-{i}") for i in range(1, args.runs + 1)]
    results["noop"] = {
        "median_s": statistics.median(r["seconds"] for r in noops),
        "runs_s": [r["seconds"] for r in noops],
        "recap": noops[-1]["recap"],
        "target_s": 15,
    }
    results["teardown"] = playbook("teardown", "teardown")
    results["from_cleared_node"] = {**playbook("cluster", "from-cleared-node"), "target_s": 60}
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
