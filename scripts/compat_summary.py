"""Print which tests ran in one compat venv: outcome counts per test file, from pytest's JUnit XML.

``python scripts/compat_summary.py junit.xml`` (scripts/compat.sh, after each venv's pytest run) prints
one line per file, ``passed failed skipped path``, then the totals, so the CI log shows what the
compatibility subset covered on each Airflow version, not only that it passed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter, defaultdict
from pathlib import Path

OUTCOMES = ("passed", "failed", "skipped")


def outcome(testcase: ElementTree.Element) -> str:
    """``passed``, ``failed`` (a failure or an error) or ``skipped``."""
    tags = {child.tag for child in testcase}
    if tags & {"failure", "error"}:
        return "failed"
    return "skipped" if "skipped" in tags else "passed"


def counts_per_file(junit_xml: Path) -> dict[str, Counter[str]]:
    """Outcome counts keyed by the test file (``classname`` up to the module, as a path)."""
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    for testcase in ElementTree.parse(junit_xml).iter("testcase"):
        # A module that failed to import is one testcase named after the module, with no classname.
        parts = (testcase.get("classname") or testcase.get("name", "")).split(".")
        # pytest's classname is the module's dotted path, then the class (if any): keep up to test_*.
        cut = next((i for i, part in enumerate(parts) if part.startswith("test_")), len(parts) - 1)
        per_file["/".join(parts[: cut + 1]) + ".py"][outcome(testcase)] += 1
    return dict(per_file)


def main(argv: list[str]) -> int:
    """Print the table for the JUnit XML file named by the only argument."""
    if len(argv) != 1:
        print("usage: compat_summary.py JUNIT_XML", file=sys.stderr)
        return 2
    per_file = counts_per_file(Path(argv[0]))
    total: Counter[str] = Counter()
    print(f"{'passed':>7} {'failed':>7} {'skipped':>7}  test file")
    for path in sorted(per_file):
        counts = per_file[path]
        total += counts
        print(f"{counts['passed']:7d} {counts['failed']:7d} {counts['skipped']:7d}  {path}")
    print(f"{total['passed']:7d} {total['failed']:7d} {total['skipped']:7d}  (total, {len(per_file)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
