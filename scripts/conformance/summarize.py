#!/usr/bin/env python3
"""Summarize ginkgo JUnit reports of a conformance run as Markdown: counts, then each failure with its reason.

summarize.py [--version v1.35.4] [--nodes 1] [--parts parts.tsv] junit-parallel.xml junit-serial.xml
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# Ginkgo reports its suite-level nodes ([SynchronizedBeforeSuite] ...) as test cases too.
SUITE_NODE_PREFIXES = ("[ReportBeforeSuite]", "[ReportAfterSuite]", "[SynchronizedBeforeSuite]",
                       "[SynchronizedAfterSuite]", "[BeforeSuite]", "[AfterSuite]")  # fmt: skip


@dataclass
class Summary:
    passed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test, first line of the reason)
    other: list[tuple[str, str]] = field(default_factory=list)  # interrupted, timed out, panicked ...
    skipped: int = 0


def _reason(case: ET.Element) -> str:
    for tag in ("failure", "error"):
        node = case.find(tag)
        if node is not None:
            text = (node.get("message") or node.text or "").strip()
            return text.splitlines()[0][:300] if text else tag
    return case.get("status", "")


def read(paths: list[Path]) -> Summary:
    summary = Summary()
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("name", "")
            status = case.get("status", "")
            if name.startswith(SUITE_NODE_PREFIXES) and status == "passed":
                continue
            name = name.removeprefix("[It] ")
            if status == "passed":
                summary.passed += 1
            elif status in ("skipped", "pending", "disabled") or case.find("skipped") is not None:
                summary.skipped += 1
            elif status == "failed":
                summary.failed.append((name, _reason(case)))
            else:
                summary.other.append((name, f"{status}: {_reason(case)}"))
    return summary


def render(summary: Summary, version: str, nodes: str, parts: Path | None) -> str:
    lines = [f"Kubernetes {version}, {nodes} node(s)", ""]
    if parts and parts.exists():
        for row in parts.read_text().splitlines():
            part, seconds, rc = row.split("\t")
            lines.append(f"- {part} part: {seconds} s, exit {rc}")
        lines.append("")
    lines.append(
        f"passed {summary.passed}, failed {len(summary.failed)}, "
        f"interrupted or timed out {len(summary.other)}, not run {summary.skipped}"
    )
    for title, rows in (("Failed", summary.failed), ("Interrupted or timed out", summary.other)):
        if rows:
            lines += ["", f"{title}:", ""]
            lines += [f"- {name}: {reason}" for name, reason in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="")
    parser.add_argument("--nodes", default="?")
    parser.add_argument("--parts", type=Path)
    parser.add_argument("junit", nargs="+", type=Path)
    args = parser.parse_args(argv)
    sys.stdout.write(render(read(args.junit), args.version, args.nodes, args.parts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
