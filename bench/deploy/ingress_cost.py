"""What the ingress costs: /prod/fibo?n=1000 through Traefik (HTTPS on 127.0.0.1:443) against the same
prod pods reached without it, from the host: the Service's ClusterIP (kube-proxy, both pods, plain HTTP)
and one pod's IP.

Two kinds of load, both bounded in time:
- wrk at a fixed concurrency (peak requests/s and its latency percentiles);
- this repository's fixed-rate client (tests/load/loadgen.py) at a rate every path sustains, for the
  latency a request sees when nothing is saturated.

    .venv/bin/python bench/deploy/ingress_cost.py [--seconds 15] [--connections 16] [--rate 200]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/load"))
from loadgen import LoadGenerator  # noqa: E402

KUBECONFIG = "/etc/kubernetes/admin.conf"
KUBECTL = "/opt/cloudnative/bin/kubectl" if os.path.exists("/opt/cloudnative/bin/kubectl") else "kubectl"
TLS_CA = "/etc/cloudnative/tls/ca.crt"
PATH = "/prod/fibo?n=1000"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def kubectl_json(*args: str) -> dict:
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", KUBECONFIG, "-n", "cloudnative-prod", *args, "-o", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def parse_wrk(text: str) -> dict:
    """Requests/s, percentiles (ms), and errors from `wrk --latency` output."""
    result: dict = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    for pct, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        result[f"p{pct}_ms"] = round(float(value) * UNITS[unit], 3)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["errors"] = (sum(map(int, errors.groups())) if errors else 0) + (
        int(non2xx.group(1)) if non2xx else 0
    )
    result["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    return result


def wrk(url: str, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    subprocess.run([*command[:3], "-d3s", url], check=True, capture_output=True, timeout=60)  # warm-up
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    return parse_wrk(out) | {"command": " ".join(command)}


def fixed_rate(url: str, connect: str, rate: int, seconds: int) -> dict:
    https = url.startswith("https")
    result = LoadGenerator(
        url, rate=rate, duration=seconds, connect=connect, cafile=TLS_CA if https else None, timeout=10
    ).run()
    s = result.summary()
    return {
        "rate": rate,
        "achieved_rps": s["achieved_rps"],
        "p50_ms": s["p50_ms"],
        "p99_ms": s["p99_ms"],
        "failed": s["failed"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--out", default=str(REPO / "bench/results/deploy-ingress.json"))
    args = parser.parse_args()

    service = kubectl_json("get", "service", "httpserver")
    cluster_ip, port = service["spec"]["clusterIP"], service["spec"]["ports"][0]["port"]
    pods = [
        p
        for p in kubectl_json("get", "pods", "-l", "app.kubernetes.io/name=httpserver")["items"]
        if p["status"].get("podIP") and p["metadata"].get("deletionTimestamp") is None
    ]
    pod_ip = pods[0]["status"]["podIP"]
    targets = {
        "ingress (HTTPS, Traefik, 127.0.0.1:443)": (f"https://cloudnative{PATH}", "127.0.0.1:443"),
        f"Service ClusterIP (HTTP, kube-proxy, {len(pods)} pods)": (
            f"http://{cluster_ip}:{port}{PATH}",
            None,
        ),
        "one pod IP (HTTP, direct)": (f"http://{pod_ip}:8080{PATH}", None),
    }
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": "bench/deploy/ingress_cost.py " + " ".join(sys.argv[1:]),
        "pods": len(pods),
        "targets": {},
    }
    for name, (url, connect) in targets.items():
        print(name, flush=True)
        results["targets"][name] = {
            "wrk": wrk(url, args.seconds, args.connections),
            "fixed_rate": fixed_rate(url, connect or url.split("/")[2], args.rate, args.seconds),
        }
        print(json.dumps(results["targets"][name]), flush=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
