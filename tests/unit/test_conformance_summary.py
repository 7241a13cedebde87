"""scripts/conformance/summarize.py counts a ginkgo JUnit report and names each failure with its reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "conformance" / "summarize.py"

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" failures="1">
  <testsuite name="Kubernetes e2e suite" tests="5">
    <testcase name="[SynchronizedBeforeSuite]" status="passed"></testcase>
    <testcase name="[It] [sig-node] ConfigMap via the environment [Conformance]" status="passed"></testcase>
    <testcase name="[It] [sig-node] ConfigMap with various prefixes [Conformance]" status="failed">
      <failure message="expected &quot;data-1=value-1&quot; in output: Expected&#xA;more">trace</failure>
    </testcase>
    <testcase name="[It] [sig-apps] Job should run [Conformance]" status="interrupted">
      <error message="Interrupted by User">x</error>
    </testcase>
    <testcase name="[It] [sig-storage] not selected" status="skipped"><skipped message="skipped"/></testcase>
  </testsuite>
</testsuites>
"""


def summarize(tmp_path: Path, *args: str) -> str:
    """Run summarize.py on the JUNIT report above with `args` before it; return what it prints."""
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    command = [sys.executable, str(SCRIPT), *args, str(report)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def test_summary_counts_and_names_each_failure_with_its_first_line(tmp_path: Path) -> None:
    out = summarize(tmp_path, "--version", "v1.35.4", "--nodes", "1")
    assert "Kubernetes v1.35.4, 1 node(s)" in out
    assert "passed 1, failed 1, interrupted or timed out 1, not selected 1" in out
    assert '- [sig-node] ConfigMap with various prefixes [Conformance]: expected "data-1=value-1"' in out
    assert "more" not in out, "only the first line of a reason belongs in the summary"
    assert "- [sig-apps] Job should run [Conformance]: interrupted: Interrupted by User" in out


def test_a_full_run_writes_its_summary_and_the_skip_list_between_the_readme_markers(tmp_path: Path) -> None:
    skips = tmp_path / "skip.txt"
    skips.write_text("# comment\nneeds two nodes\tthe single node cannot host both pods\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- conformance:begin -->\nold\n<!-- conformance:end -->\nafter\n")
    args = ["--version", "v1.35.4", "--nodes", "1", "--skip-list", str(skips)]
    args += ["--results", "bench/results/conformance/x", "--readme", str(readme)]
    summarize(tmp_path, "--kind", "subset", *args)
    assert "old" in readme.read_text(), "only a full run may replace the README's summary"

    summarize(tmp_path, "--kind", "full", *args)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert "1 node(s), full [Conformance] run" in text
    assert "passed 1, failed 1" in text and "bench/results/conformance/x" in text
    assert "- `needs two nodes`: the single node cannot host both pods" in text


def test_a_failure_the_skip_list_names_is_reported_apart_with_the_lists_reason(tmp_path: Path) -> None:
    skips = tmp_path / "skipped.tsv"
    skips.write_text("ConfigMap with various prefixes\tneeds what this shape lacks\n")
    out = summarize(tmp_path, "--skip-list", str(skips))
    unlisted, _, listed = out.partition("Failed, and in the skip list")
    assert "\nFailed:\n" not in unlisted, "the only failure is the listed one"
    assert "ConfigMap with various prefixes [Conformance]" in listed
    assert "- `ConfigMap with various prefixes`: needs what this shape lacks" in listed
