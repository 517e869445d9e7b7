"""Shared helpers for benchmark scripts: argument parsing, the results table and its JSON file."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def parse_args(
    description: str,
    sizes: tuple[int, ...] | None = None,
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """Parse the options every benchmark takes (``--smoke`` for the small CI size); with ``sizes``,
    also ``--sizes`` (those by default) for a benchmark that measures several sizes; ``options``
    adds a benchmark's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file to write")
    if sizes is not None:
        parser.add_argument(
            "--sizes", type=int, nargs="+", default=list(sizes), help=f"full sizes (default {sizes})"
        )
    if options is not None:
        options(parser)
    return parser.parse_args()


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of process ``pid`` (this one by default) in MB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"VmRSS not found in /proc/{pid}/status")


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (``/proc/loadavg``; other processes included)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def machine() -> dict[str, Any]:
    """Facts about the machine the figures were measured on (load average: when the report is written)."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.machine(),
        "load_average": load_average(),
    }


def report(
    name: str, rows: list[dict[str, Any]], summary: dict[str, Any], *, smoke: bool, output: Path | None
) -> Path:
    """Print ``rows`` as a table with the summary, and write everything to JSON; return its path."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print(f"\n{name}{' (smoke)' if smoke else ''}")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
    for key, value in summary.items():
        print(f"{key}: {_fmt(value)}")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = output or RESULTS_DIR / f"{name}{'.smoke' if smoke else ''}.json"
    path.write_text(
        json.dumps(
            {"benchmark": name, "smoke": smoke, "machine": machine(), "rows": rows, "summary": summary},
            indent=2,
        )
        + "\n"
    )
    print(f"written to {path}")
    return path


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)
