"""Plot a load-test run (the JSON tests/load writes): requests/s and errors, p99 latency, and replicas
over time, with the run's events (site.yml start/end, load stop) as vertical lines.

    .venv/bin/python bench/deploy/plot.py RUN.json OUT.png --title "..."
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker


def plot(data: dict, out: pathlib.Path, title: str) -> None:
    series = data["timeseries"][:-1]  # the last second is partial: the load stopped inside it
    replicas = data.get("replicas", [])
    summary = data["summary"]
    t = [b["t"] for b in series]
    fig, (ax_rps, ax_lat, ax_rep) = plt.subplots(
        3, 1, figsize=(10, 8.5), sharex=True, height_ratios=[3, 2, 2]
    )
    fig.suptitle(
        f"{title}\n{summary['total']} requests to {summary['url'].split('//', 1)[1]}, "
        f"{summary['failed']} failed, p99 {summary['p99_ms']} ms",
        fontsize=11,
    )

    ax_rps.plot(t, [b["ok"] for b in series], color="tab:green", lw=1.4, label="ok responses/s")
    ax_rps.bar(t, [b["errors"] for b in series], width=1.0, color="tab:red", label="failed/s")
    ax_rps.set_ylabel("requests per second")
    top = max([b["sent"] for b in series] + [1])
    ax_rps.set_ylim(0, top * 1.25)
    if not any(b["errors"] for b in series):
        ax_rps.text(0.01, 0.05, "no failed request", transform=ax_rps.transAxes, color="tab:red")
    ax_rps.legend(loc="lower right", fontsize=9)

    ax_lat.plot(t, [b["p99_ms"] for b in series], color="tab:purple", lw=1.2, label="p99")
    ax_lat.plot(t, [b["p50_ms"] for b in series], color="tab:gray", lw=1.0, label="p50")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_yscale("log")
    ax_lat.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax_lat.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax_lat.legend(loc="upper right", fontsize=9)

    with_counts = [r for r in replicas if "desired" in r]

    def step_replicas(key: str, **style) -> None:
        ax_rep.step([r["t"] for r in with_counts], [r[key] for r in with_counts], where="post", **style)

    step_replicas("desired", color="tab:blue", label="desired replicas")
    step_replicas("ready", color="tab:orange", label="ready replicas")
    step_replicas("total", color="tab:gray", ls=":", label="pods (ready or not, incl. the surge one)")
    if any(r.get("updated") != r.get("total") for r in with_counts):
        step_replicas("updated", color="tab:cyan", ls="--", label="pods of the newest template")
    ax_rep.set_ylabel("replicas")
    ax_rep.set_xlabel("seconds since the load started")
    ax_rep.set_ylim(
        0, max([r.get("total", 0) for r in replicas] + [r.get("desired", 0) for r in replicas] + [1]) + 1
    )
    ax_rep.yaxis.get_major_locator().set_params(integer=True)
    cpu = [(r["t"], r["cpu_utilization"]) for r in replicas if r.get("cpu_utilization") is not None]
    if cpu and data.get("plot_cpu", True):
        ax_cpu = ax_rep.twinx()
        ax_cpu.plot(
            [c[0] for c in cpu],
            [c[1] for c in cpu],
            color="tab:brown",
            lw=0.9,
            alpha=0.7,
            label="HPA CPU utilization (% of request)",
        )
        ax_cpu.set_ylabel("CPU % of request", color="tab:brown")
        ax_cpu.legend(loc="center right", fontsize=8)
    ax_rep.legend(loc="upper left", fontsize=9)

    for name, at in (data.get("events") or {}).items():
        for ax in (ax_rps, ax_lat, ax_rep):
            ax.axvline(at, color="black", ls=":", lw=1)
        ax_rps.annotate(
            name, (at, top * 1.18), fontsize=8, ha="left", xytext=(3, 0), textcoords="offset points"
        )
    for ax in (ax_rps, ax_lat, ax_rep):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=pathlib.Path)
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    plot(json.loads(args.run.read_text()), args.out, args.title or args.run.stem)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
