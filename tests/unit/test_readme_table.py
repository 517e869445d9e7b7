"""The README benchmark block: rendered from full-size result files only, replaced between markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.readme_table import END, START, load_results, render, replace_block

MACHINE = {"python": "3.11.7", "platform": "Linux-x", "cpus": 2, "processor": "x86_64"}


def write(path: Path, name: str, smoke: bool, summary: dict) -> None:
    body = {"benchmark": name, "smoke": smoke, "machine": MACHINE, "rows": [], "summary": summary}
    path.write_text(json.dumps(body))


def test_only_full_size_results_are_rendered(tmp_path: Path) -> None:
    write(tmp_path / "polling.json", "polling", False, {"ratio_at_100": 101.25, "meets_target": True})
    write(tmp_path / "polling.smoke.json", "polling", True, {"ratio_at_100": 3.0})
    results = load_results(tmp_path)
    assert [r["benchmark"] for r in results] == ["polling"]
    block = render(results)
    assert "Measured on 2 CPUs (x86_64), Linux-x, Python 3.11.7" in block
    assert "| `polling` | ratio at 100 | 101 |" in block
    assert "| `polling` | meets target | yes |" in block
    assert "| 3 |" not in block


def test_block_between_markers_is_replaced_and_the_rest_kept() -> None:
    readme = f"intro\n{START}\nold table\n{END}\noutro\n"
    assert replace_block(readme, "new") == f"intro\n{START}\nnew\n{END}\noutro\n"


def test_missing_markers_name_the_fix() -> None:
    with pytest.raises(ValueError, match="benchmarks:start"):
        replace_block("no markers here", "new")
