"""Render the README's benchmark table from ``benchmarks/results/*.json`` (full-size runs only).

Replaces everything between ``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->`` in
``README.md`` with the machine the figures were measured on and, per benchmark, the summary
figures its script wrote (ratios against the baseline of the same run). Smoke results
(``*.smoke.json``) are never shown.

Run: ``python -m benchmarks.readme_table`` (after ``python -m benchmarks``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- benchmarks:start -->"
END = "<!-- benchmarks:end -->"


def load_results(results_dir: Path = RESULTS_DIR) -> list[dict[str, Any]]:
    """Every full-size result file, sorted by benchmark name."""
    files = sorted(p for p in results_dir.glob("*.json") if not p.name.endswith(".smoke.json"))
    results = [json.loads(p.read_text()) for p in files]
    return [r for r in results if not r.get("smoke")]


def format_value(value: Any) -> str:
    """A summary value as table text: 3 significant digits, yes/no, lists joined."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value) or "none"
    return str(value).replace("|", "\\|")


def render(results: list[dict[str, Any]]) -> str:
    """Markdown for the block between the markers."""
    if not results:
        return (
            "No full-size results yet: run `python -m benchmarks`, then `python -m benchmarks.readme_table`."
        )
    m = results[0]["machine"]
    lines = [
        f"Measured on {m['cpus']} CPUs ({m['processor']}), {m['platform']}, Python {m['python']}; "
        "each figure compares against a baseline measured in the same run "
        "(details and every row in `benchmarks/results/*.json`, method in "
        "[docs/performance.md](docs/performance.md)).",
        "",
        "| Benchmark | Figure | Value |",
        "|---|---|---|",
    ]
    for result in results:
        for key, value in result["summary"].items():
            lines.append(f"| `{result['benchmark']}` | {key.replace('_', ' ')} | {format_value(value)} |")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with the content between the markers replaced by ``block``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the markers {START} and {END} (in that order)")
    return f"{text[: start + len(START)]}\n{block}\n{text[end:]}"


def main() -> int:
    """Rewrite the README block; print what was written."""
    block = render(load_results())
    README.write_text(replace_block(README.read_text(), block))
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
