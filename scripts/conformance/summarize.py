#!/usr/bin/env python3
"""Summarize ginkgo JUnit reports of a conformance run as Markdown: counts, then each failure with its reason.

summarize.py [--version v1.35.4] [--nodes 1] [--kind full|subset|focused] [--parts parts.tsv]
             [--skip-list skip.txt] [--results DIR] [--readme README.md] junit-parallel.xml junit-serial.xml

With --readme, the summary of a full run also replaces what stands between README's markers
<!-- conformance:begin --> and <!-- conformance:end -->.
"""

from __future__ import annotations

import argparse
import datetime
import re
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


def skip_list(path: Path | None) -> list[tuple[str, str]]:
    """(regex, reason) of each line of the skip list; comments and blank lines ignored."""
    if not path or not path.exists():
        return []
    rows = [line.split("\t", 1) for line in path.read_text().splitlines()]
    return [(row[0], row[1] if len(row) > 1 else "") for row in rows if row[0] and not row[0].startswith("#")]


def render(
    summary: Summary,
    version: str,
    nodes: str,
    parts: Path | None,
    kind: str = "",
    skips: list[tuple[str, str]] | None = None,
    results: str = "",
    ended: datetime.datetime | None = None,
) -> str:
    when = ended.strftime("%Y-%m-%d %H:%M UTC") if ended else "?"
    title = f"Kubernetes {version}, {nodes} node(s)"
    if kind:
        title += f", {kind} [Conformance] run, {when}"
    lines = [title, ""]
    if results:
        lines += [f"Results: `{results}` (JUnit, logs, this summary)", ""]
    if parts and parts.exists():
        for row in parts.read_text().splitlines():
            part, seconds, rc = row.split("\t")
            lines.append(f"- {part} part: {seconds} s, exit {rc}")
        lines.append("")
    lines.append(
        f"passed {summary.passed}, failed {len(summary.failed)}, "
        f"interrupted or timed out {len(summary.other)}, "
        f"not selected {summary.skipped} (the suite's other specs, counted once per part)"
    )
    # A failure the skip list names ran before the list had it: reported with the list's reason, not hidden.
    patterns = [regex for regex, _ in skips or []]
    listed = [row for row in summary.failed if any(re.search(p, row[0]) for p in patterns)]
    unlisted = [row for row in summary.failed if row not in listed]
    for heading, rows in (
        ("Failed", unlisted),
        ("Failed, and in the skip list for this cluster's shape (reason below)", listed),
        ("Interrupted or timed out", summary.other),
    ):
        if rows:
            lines += ["", f"{heading}:", ""]
            lines += [f"- {name}: {reason}" for name, reason in rows]
    lines += ["", f"Skip list (scripts/conformance/skip.txt): {len(skips or []) or 'empty'}"]
    lines += [f"- `{regex}`: {reason}" for regex, reason in skips or []]
    return "\n".join(lines) + "\n"


def write_durations(out: Path, paths: list[Path]) -> None:
    rows = []
    for path in paths:
        for case in ET.parse(path).getroot().iter("testcase"):
            name, status = case.get("name", ""), case.get("status", "")
            if status not in ("skipped", "pending", "disabled") and not name.startswith(SUITE_NODE_PREFIXES):
                rows.append((float(case.get("time") or 0), status, name.removeprefix("[It] ")))
    lines = [f"{seconds:.1f}\t{status}\t{name}" for seconds, status, name in sorted(rows, reverse=True)]
    out.write_text("seconds\tstatus\ttest\n" + "\n".join(lines) + "\n")


def write_readme(readme: Path, text: str) -> None:
    begin, end = "<!-- conformance:begin -->", "<!-- conformance:end -->"
    content = readme.read_text()
    if begin not in content or end not in content:
        raise SystemExit(f"{readme} has no {begin} ... {end} markers")
    block = f"{begin}\n{text}{end}"
    readme.write_text(re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, content, flags=re.S))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="")
    parser.add_argument("--nodes", default="?")
    parser.add_argument("--parts", type=Path)
    parser.add_argument("--kind", default="")
    parser.add_argument("--skip-list", type=Path)
    parser.add_argument("--results", default="")
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--durations", type=Path, help="write seconds, status and name of every test run")
    parser.add_argument("junit", nargs="+", type=Path)
    args = parser.parse_args(argv)
    skips = skip_list(args.skip_list)
    # The run ended when its last JUnit report was written.
    ended = datetime.datetime.fromtimestamp(max(p.stat().st_mtime for p in args.junit), datetime.UTC)
    summary = read(args.junit)
    text = render(summary, args.version, args.nodes, args.parts, args.kind, skips, args.results, ended)
    sys.stdout.write(text)
    if args.durations:
        write_durations(args.durations, args.junit)
    if args.readme and args.kind == "full":
        write_readme(args.readme, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
